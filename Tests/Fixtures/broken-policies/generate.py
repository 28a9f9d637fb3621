"""Writes the corpus of broken policies: one directory per mistake, each file's first line
saying where the error must be reported (LINE:COL) and what it must say. Run it from this
directory after changing a case; the Swift tests read the files, not this script."""
import os
BASE = """target: crm
description: Customer relationship management
connection:
  base_url: ${LETHE_TEST_CRM_URL:-http://127.0.0.1:9104/v2}
  auth: { bearer_token_env: LETHE_TEST_TOKEN }
  timeout: 10s
  max_concurrency: 4
  rate_limit: 50/s
  retry: { base: 1s, max: 5m, max_attempts: 8 }
identity:
  match: [emails.value]
shares:
  - purpose: account
    basis: contract
    attributes: [userName, name.givenName, name.familyName, emails]
  - purpose: marketing
    basis: consent
    attributes: ["urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment"]
    groups: [Promotions]
  - purpose: invoicing
    basis: legal_obligation
    retention: 10y
    attributes: [addresses]
erasure:
  action: anonymize
  anonymize:
    userName: random
    name.givenName: redact
    emails: remove
"""
# name -> (old, new-with-@@-marker, message substring)
cases = {
 "unknown-key": ("    attributes: [userName, name.givenName", "    @@atributes: [userName, name.givenName", "unknown key 'atributes' in a share"),
 "unknown-kind": ("description: Customer", "kind: @@ldap\ndescription: Customer", "kind 'ldap' is not a kind of target Lethe can reach"),
 "unknown-top-key": ("description: Customer", "@@descripton: Customer", "unknown key 'descripton'"),
 "unknown-purpose": ("  - purpose: marketing", "  - purpose: @@marketting", "unknown purpose 'marketting'"),
 "unknown-basis": ("    basis: consent", "    basis: @@consnet", "unknown lawful basis 'consnet'"),
 "unknown-strategy": ("    name.givenName: redact", "    name.givenName: @@scramble", "unknown anonymize strategy 'scramble'"),
 "unknown-action": ("  action: anonymize", "  action: @@erase", "unknown erasure action 'erase'"),
 "bad-duration": ("retry: { base: 1s,", "retry: { base: @@1 second,", "retry.base '1 second' is not a duration"),
 "bad-timeout": ("  timeout: 10s", "  timeout: @@ten", "connection.timeout 'ten' is not a duration"),
 "bad-rate": ("  rate_limit: 50/s", "  rate_limit: @@fast", "connection.rate_limit 'fast' is not a rate"),
 "bad-retention": ("    retention: 10y", "    retention: @@10 years", "retention '10 years' is not a period"),
 "retention-not-legal": ("    basis: consent\n", "    basis: consent\n    retention: @@1y\n", "retention applies only to basis legal_obligation"),
 "legal-without-retention": ("  - purpose: invoicing\n    basis: legal_obligation\n    retention: 10y\n", "  - @@purpose: invoicing\n    basis: legal_obligation\n", "needs a retention period"),
 "remove-username": ("    userName: random", "    userName: @@remove", "'remove' cannot apply to userName"),
 "pseudonym-multivalued": ("    emails: remove", "    emails: @@pseudonym", "'pseudonym' needs a single text value"),
 "unset-variable": ("${LETHE_TEST_CRM_URL:-http://127.0.0.1:9104/v2}", "@@${LETHE_TEST_UNSET_URL}", "${LETHE_TEST_UNSET_URL}, which is not set and has no default"),
 "consent-shares-nothing": ('  - purpose: marketing\n    basis: consent\n    attributes: ["urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment"]\n    groups: [Promotions]\n', "  - @@purpose: marketing\n    basis: consent\n    attributes: []\n", "shares no attributes and no groups under consent"),
 "bad-attribute": ("name.givenName, name.familyName, emails]", "@@name.givenNmae, name.familyName, emails]", "'name' has no sub-attribute 'givenNmae'"),
 "unknown-attribute": ("name.familyName, emails]", "name.familyName, @@email]", "unknown attribute 'email'"),
 "readonly-attribute": ("name.familyName, emails]", "name.familyName, emails, @@id]", "'id' is set by the server"),
 "http-remote": ("${LETHE_TEST_CRM_URL:-http://127.0.0.1:9104/v2}", "@@http://crm.example.com/scim/v2", "plain http to a non-loopback host"),
 "inline-secret": ("auth: { bearer_token_env: LETHE_TEST_TOKEN }", "auth: { @@bearer_token: s3cr3t-value }", "unknown key 'bearer_token'"),
 "secret-as-env-name": ("auth: { bearer_token_env: LETHE_TEST_TOKEN }", "auth: { bearer_token_env: @@abc-123.xyz }", "must name an environment variable"),
 "bad-match": ("  match: [emails.value]", "  match: [@@email]", "identity.match cannot use 'email'"),
 "missing-erasure": ("erasure:\n  action: anonymize\n  anonymize:\n    userName: random\n    name.givenName: redact\n    emails: remove\n", "", "missing the required key 'erasure'"),
 "duplicate-share": ("  - purpose: invoicing\n", "  - @@purpose: marketing\n    basis: consent\n    groups: [Newsletter]\n  - purpose: invoicing\n", "purpose 'marketing' with basis consent is listed twice"),
 "bad-target-name": ("target: crm", "target: @@CRM System", "target name 'CRM System'"),
 "yaml-syntax": ("  match: [emails.value]\nshares:", "  match: [emails.value\nshares@@:", "YAML syntax"),
 "duplicate-key": ("  timeout: 10s\n", "  timeout: 10s\n  @@timeout: 20s\n", "'timeout' appears twice"),
 "zero-concurrency": ("  max_concurrency: 4", "  max_concurrency: @@0", "max_concurrency must be a whole number from 1 to 256"),
 "bad-update": ("  max_concurrency: 4\n", "  max_concurrency: 4\n  update: @@replace\n", "connection.update 'replace' is not an update method"),
 "deactivate-alone": ("erasure:\n  action: anonymize\n  anonymize:\n    userName: random\n    name.givenName: redact\n    emails: remove\n", "erasure:\n  action: @@deactivate\n", "deactivate alone is not erasure"),
}
def marked(text):
    i = text.index("@@")
    before = text[:i]
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return text.replace("@@", ""), line, col
for name, (old, new, msg) in cases.items():
    assert old in BASE, name
    text = BASE.replace(old, new, 1)
    if "@@" in text:
        text, line, col = marked(text)
        line += 1  # the expect header
    else:
        line, col = 2, 1
    os.makedirs(name, exist_ok=True)
    with open(f"{name}/crm.yaml", "w") as f:
        f.write(f"# expect: {line}:{col} {msg}\n" + text)
# duplicate target: two files
os.makedirs("duplicate-target", exist_ok=True)
open("duplicate-target/crm.yaml", "w").write("# a valid policy; the other file repeats its target\n" + BASE)
text, line, col = marked(BASE.replace("target: crm", "target: @@crm"))
open("duplicate-target/second.yaml", "w").write(f"# expect: {line+1}:{col} target 'crm' is already defined\n" + text)
# unknown purpose with a purposes.yaml vocabulary
os.makedirs("purpose-not-in-catalog", exist_ok=True)
open("purpose-not-in-catalog/purposes.yaml", "w").write("purposes:\n  account: Accounts\n  invoicing: Invoices\n")
text, line, col = marked(BASE.replace("  - purpose: marketing", "  - purpose: @@marketing"))
open("purpose-not-in-catalog/crm.yaml", "w").write(f"# expect: {line+1}:{col} unknown purpose 'marketing'\n" + text)
# manual targets (kind: manual): their own block, no connection
MANUAL = """target: warehouse
kind: manual
manual:
  instructions: Delete the customer's rows (runbook DW-7).
  confirm_role: officer
  within: 7d
identity:
  match: [emails.value]
shares:
  - purpose: analytics
    basis: legitimate_interest
    attributes: [emails.value, name.familyName]
erasure:
  action: delete
"""
manual_cases = {
    "manual-with-connection": ("identity:", "@@connection:\n  base_url: https://dw.example.com/v2\n  auth: none\nidentity:",
                               "a manual target has no connection"),
    "manual-without-block": ("manual:\n  instructions: Delete the customer's rows (runbook DW-7).\n  confirm_role: officer\n  within: 7d\n", "",
                             "the policy is missing the required key 'manual'"),
    "manual-bad-role": ("  confirm_role: officer", "  confirm_role: @@auditor", "manual.confirm_role 'auditor' is not a role that may confirm"),
    "manual-bad-within": ("  within: 7d", "  within: @@soon", "manual.within 'soon' is not a duration"),
    "manual-empty-instructions": ("  instructions: Delete the customer's rows (runbook DW-7).", "  instructions: @@\"  \"", "manual.instructions is empty"),
    "manual-on-scim": (None, None, "manual: is for a target of kind manual"),
}
for name, (old, new, msg) in manual_cases.items():
    os.makedirs(name, exist_ok=True)
    if old is None:
        text, line, col = marked(BASE.replace("identity:", "@@manual:\n  instructions: Delete by hand.\nidentity:", 1))
        line += 1
        with open(f"{name}/crm.yaml", "w") as f:
            f.write(f"# expect: {line}:{col} {msg}\n" + text)
        continue
    text = MANUAL.replace(old, new, 1)
    if "@@" in text:
        text, line, col = marked(text)
        line += 1
    else:
        line, col = 2, 1
    with open(f"{name}/warehouse.yaml", "w") as f:
        f.write(f"# expect: {line}:{col} {msg}\n" + text)
# webhook targets (kind: webhook)
WEBHOOK = """target: desk
kind: webhook
webhook:
  url: https://desk.example.com/lethe/jobs
  secret_env: LETHE_TEST_TOKEN
  within: 7d
identity:
  match: [emails.value]
shares:
  - purpose: support
    basis: contract
    attributes: [emails.value]
erasure:
  action: delete
"""
webhook_cases = {
    "webhook-plain-http": ("  url: https://desk.example.com/lethe/jobs", "  url: @@http://desk.example.com/lethe/jobs", "uses plain http to a non-loopback host"),
    "webhook-inline-secret": ("  secret_env: LETHE_TEST_TOKEN", "  secret_env: @@s3cr3t-value!", "webhook.secret_env must name an environment variable"),
    "webhook-with-connection": ("identity:", "@@connection:\n  base_url: https://desk.example.com/v2\n  auth: none\nidentity:", "a webhook target has no connection: block"),
}
for name, (old, new, msg) in webhook_cases.items():
    os.makedirs(name, exist_ok=True)
    text, line, col = marked(WEBHOOK.replace(old, new, 1))
    with open(f"{name}/desk.yaml", "w") as f:
        f.write(f"# expect: {line + 1}:{col} {msg}\n" + text)
print(len(cases) + 2 + len(manual_cases) + len(webhook_cases), "cases")
