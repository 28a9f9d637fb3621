import LetheCore

// The reference policies, embedded so `lethe demo` runs on a fresh machine with no files
// around it. They are copies of policies/*.yaml; DefaultPoliciesTests fails when the two differ.

/// The shipped example policies (shop, app, newsletter, crm) and purpose catalog.
public enum DefaultPolicies {
    /// (file name, text) of each file in policies/.
    public static let files: [(name: String, text: String)] = [
        ("app.yaml", #"""
# The mobile app backend.
target: app
description: Mobile app backend
connection:
  base_url: ${LETHE_APP_URL:-http://127.0.0.1:8990/app/v2}
  auth: { bearer_token_env: LETHE_APP_TOKEN }
  timeout: 10s
  max_concurrency: 4
  rate_limit: 50/s
  retry: { base: 1s, max: 5m, max_attempts: 8 }
identity:
  match: [externalId, userName]
  user_name_is_email: true   # the app's login is the e-mail address: a request with only --email matches on userName
shares:
  - purpose: account
    basis: contract
    attributes: [userName, name.givenName, name.familyName, emails, locale]
erasure:
  action: delete
"""#),
        ("crm.yaml", #"""
# Customer relationship management: the account, plus a marketing segment held
# only while the customer consents to marketing.
target: crm
description: Customer relationship management
connection:
  base_url: ${LETHE_CRM_URL:-http://127.0.0.1:8990/crm/v2}
  auth: { bearer_token_env: LETHE_CRM_TOKEN }
  timeout: 10s
  max_concurrency: 4
  rate_limit: 50/s
  retry: { base: 1s, max: 5m, max_attempts: 8 }
identity:
  match: [emails.value]
shares:
  - purpose: account
    basis: contract
    attributes: [userName, name.givenName, name.familyName, emails, locale]
  - purpose: marketing
    basis: consent
    attributes: ["urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment"]
    groups: [Promotions]
erasure:
  action: anonymize
  anonymize:
    userName: random        # required and unique: becomes erased-<random>@erased.invalid
    name.givenName: redact
    name.familyName: redact
    emails: remove
    locale: remove
    "urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment": remove
"""#),
        ("newsletter.yaml", #"""
# The newsletter service: it holds nothing but what the subscriber consented to.
target: newsletter
description: Newsletter service
connection:
  base_url: ${LETHE_NEWSLETTER_URL:-http://127.0.0.1:8990/newsletter/v2}
  auth: { bearer_token_env: LETHE_NEWSLETTER_TOKEN }
  timeout: 10s
  max_concurrency: 4
  rate_limit: 50/s
  retry: { base: 1s, max: 5m, max_attempts: 8 }
identity:
  match: [emails.value]
shares:
  - purpose: newsletter
    basis: consent
    attributes: [userName, emails, name.givenName, preferredLanguage]
    groups: [Newsletter]
erasure:
  action: delete
"""#),
        ("purposes.yaml", #"""
# The purposes customer data may be shared for. Every `purpose:` in a policy must be one
# of these, so a typo is an error rather than a share nobody can ever revoke.
purposes:
  account: Customer account, orders and service delivery
  invoicing: Invoices and accounting records kept for tax law
  newsletter: Newsletter e-mails the customer subscribed to
  marketing: Marketing campaigns and customer segmentation
  loyalty: Loyalty programme membership and tiers
  analytics: Product analytics
  support: Customer support tickets
"""#),
        ("shop.yaml", #"""
# The web shop: customer accounts and the invoices tax law requires us to keep.
target: shop
description: Web shop (accounts, orders, invoices)
connection:
  base_url: ${LETHE_SHOP_URL:-http://127.0.0.1:8990/shop/v2}
  auth: { bearer_token_env: LETHE_SHOP_TOKEN }
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
  - purpose: invoicing
    basis: legal_obligation
    retention: 10y          # GDPR Art. 17(3)(b): invoices are kept for 10 years
    attributes: [addresses]
erasure:
  # A delete would destroy the invoice addresses, so the planner anonymizes
  # everything else and keeps `addresses` until received + 10 years.
  action: delete
"""#),
    ]
}

extension DefaultPolicies {
    /// The demo's fifth system, one no SCIM reaches: a person deletes by hand and confirms.
    public static let demoManual = (name: "warehouse.yaml", text: #"""
target: warehouse
description: The analytics warehouse (no API; the data team deletes by hand)
kind: manual
manual:
  instructions: Delete the customer's rows from the analytics tables (runbook DW-7).
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
"""#)

    /// Parses the embedded policies with the given environment; `demo` adds the demo's manual target.
    public static func load(environment: [String: String], demo: Bool = false) -> Result<PolicySet, PolicyLoadError> {
        let purposes = files.first { $0.name == PolicySet.purposesFileName }.map { (path: "(embedded)/\($0.name)", text: $0.text) }
        let targets = (files + (demo ? [demoManual] : [])).filter { $0.name != PolicySet.purposesFileName }
            .map { (path: "(embedded)/\($0.name)", text: $0.text) }
        return PolicySet.parse(files: targets, purposesFile: purposes, environment: environment, directory: "(embedded policies)")
    }
}
