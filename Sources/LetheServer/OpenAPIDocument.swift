/// The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.yaml`. The same text is
/// `docs/openapi.yaml` in the repository; a test keeps them equal.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Lethe API
  version: "1"
  summary: File and follow GDPR erasure and consent-withdrawal requests; read the audit log.
  description: |
    Served by `lethe serve` next to the engine. Every `/api/v1` operation but this document
    needs `Authorization: Bearer TOKEN` (`lethe token create --name NAME --role ROLE`).
    Roles: officer (file, approve, reject, retry, cancel, extend, plan, sweeps, target checks, certificates, read), auditor
    (read, reports, certificates, keys, audit verify: nothing that changes anything or calls a target), admin (everything).
    A browser session (the dashboard's cookie) may call the API too; then every method but GET and HEAD carries the
    session's X-CSRF-Token, whatever the path looks like. Answers carry `Cache-Control: no-store`.
    Errors are RFC 9457 problem documents; a bad field is named by a JSON pointer.
    Subjects appear only as pseudonyms in answers; identifiers are never echoed.
servers:
  - url: http://127.0.0.1:8080
security:
  - bearer: []
paths:
  /healthz:
    get:
      operationId: health
      summary: The process is up.
      security: []
      responses:
        "200":
          description: Up.
          content:
            application/json:
              schema:
                type: object
                required: [status]
                properties:
                  status: {type: string, const: ok}
  /readyz:
    get:
      operationId: ready
      summary: The database answers and the policies are loaded.
      security: []
      responses:
        "200":
          description: Ready.
          content:
            application/json:
              schema:
                type: object
                required: [status, targets]
                properties:
                  status: {type: string, const: ready}
                  targets: {type: integer, minimum: 0}
        "503": {$ref: "#/components/responses/Problem"}
  /metrics:
    get:
      operationId: metrics
      summary: "Prometheus text: requests by state and kind, actions by target and state, SCIM calls by target, method and status with their durations, overdue requests, the oldest open request's age."
      security: []
      responses:
        "200":
          description: The metrics, names prefixed lethe_.
          content:
            text/plain; version=0.0.4; charset=utf-8:
              schema: {type: string}
  /api/v1/openapi.yaml:
    get:
      operationId: openapi
      summary: This document.
      security: []
      responses:
        "200":
          description: The OpenAPI document.
          content:
            application/yaml:
              schema: {type: string}
  /api/v1/requests:
    post:
      operationId: fileRequest
      summary: File an erasure (GDPR Art. 17) or a withdrawal of consent (Art. 7(3)).
      description: |
        The same `ref` for the same subject and kind answers 200 with the request filed
        before; for another subject, 409. The token's name is recorded as who filed it.
        Roles: officer, admin.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewRequest"}
      responses:
        "201":
          description: Filed.
          headers:
            Location:
              schema: {type: string}
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Request"}
        "200":
          description: Filed before under this reference for this subject; nothing new was stored.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Request"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
    get:
      operationId: listRequests
      summary: "Requests in filing order, a page at a time. Roles: officer, auditor, admin."
      parameters:
        - {name: state, in: query, schema: {$ref: "#/components/schemas/RequestState"}}
        - {name: kind, in: query, schema: {type: string, enum: [erasure, revocation]}}
        - {name: target, in: query, description: With an action in this target., schema: {type: string}}
        - {name: overdue, in: query, schema: {type: boolean}}
        - {name: scheduled, in: query, description: With an erasure of retained data still to come., schema: {type: boolean}}
        - {name: ref, in: query, schema: {type: string}}
        - {name: received_from, in: query, schema: {type: string, format: date}}
        - {name: received_to, in: query, schema: {type: string, format: date}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: cursor, in: query, description: The next_cursor of the page before., schema: {type: string, minLength: 1}}
      responses:
        "200":
          description: A page.
          content:
            application/json:
              schema:
                type: object
                required: [requests, next_cursor]
                properties:
                  requests:
                    type: array
                    items: {$ref: "#/components/schemas/Request"}
                  next_cursor: {type: [string, "null"]}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
  /api/v1/requests/{id}:
    get:
      operationId: getRequest
      summary: "One request by id or reference, as `lethe status ID --json` prints it. Roles: officer, auditor, admin."
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: The request.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Request"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /api/v1/requests/{id}/cancel:
    post:
      operationId: cancelRequest
      summary: "Cancel an open request; actions in flight finish and are recorded. Roles: officer, admin."
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [reason]
              properties:
                reason: {type: string, minLength: 1, maxLength: 500}
      responses:
        "200":
          description: Cancelled (or cancelling, while an action is in flight).
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Request"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
  /api/v1/requests/{id}/retry:
    post:
      operationId: retryRequest
      summary: "Put failed and needs_review actions back to pending with a fresh retry budget. Roles: officer, admin."
      description: |
        The subject's identifiers are purged when a request ends; give them again (they must be
        the subject's: the pseudonym is checked) to retry it.
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                target: {type: string, description: Only this target.}
                subject: {$ref: "#/components/schemas/Subject"}
      responses:
        "200":
          description: The targets put back to pending, and the request.
          content:
            application/json:
              schema:
                type: object
                required: [retried, request]
                properties:
                  retried: {type: array, items: {type: string}}
                  request: {$ref: "#/components/schemas/Request"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /api/v1/requests/{id}/extend:
    post:
      operationId: extendRequest
      summary: "Move the due date by 1 or 2 months (GDPR Art. 12(3), at most 2 in all). Roles: officer, admin."
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [months, reason]
              properties:
                months: {type: integer, enum: [1, 2]}
                reason: {type: string, minLength: 1, maxLength: 500}
      responses:
        "200":
          description: Extended.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Request"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
  /api/v1/requests/{id}/approve:
    post:
      operationId: approveRequest
      summary: "Approve a request that waits for a second person (approval in lethe.yaml); its actions start at once or when its grace period ends. The token's name is the approver and must differ from whoever filed it (403 otherwise). Roles: officer, admin."
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                note: {type: string, minLength: 1, maxLength: 500, description: "What was checked; no personal data."}
      responses:
        "200":
          description: Approved.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Request"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
  /api/v1/requests/{id}/reject:
    post:
      operationId: rejectRequest
      summary: "Refuse a request no system was touched for (GDPR Art. 12(5)), with the reason; it ends rejected and its identifiers are purged. Roles: officer, admin."
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [reason]
              properties:
                reason: {type: string, minLength: 1, maxLength: 500, description: "Why; no personal data."}
      responses:
        "200":
          description: Rejected.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Request"}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
  /api/v1/plan:
    post:
      operationId: plan
      summary: "What filing this request would do in each target; files nothing. Roles: officer, admin."
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewRequest"}
      responses:
        "200":
          description: One planned action per target.
          content:
            application/json:
              schema:
                type: object
                required: [actions]
                properties:
                  actions:
                    type: array
                    items:
                      type: object
                      required: [target, operation, attributes, strategies, groups, retained, pseudonymised, reason]
                      properties:
                        target: {type: string}
                        operation: {type: string}
                        match: {type: [string, "null"]}
                        attributes: {type: array, items: {type: string}}
                        strategies: {type: object, additionalProperties: {type: string}}
                        groups: {type: array, items: {type: string}}
                        retained:
                          type: array
                          items:
                            type: object
                            required: [purpose, basis, attributes, groups, until]
                            properties:
                              purpose: {type: string}
                              basis: {type: string}
                              attributes: {type: array, items: {type: string}}
                              groups: {type: array, items: {type: string}}
                              until: {type: string}
                        pseudonymised: {type: array, items: {type: string}}
                        reason: {type: string}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /api/v1/reports:
    post:
      operationId: exportReport
      summary: "Export a signed period report (requests received from..to) into the state directory. Roles: auditor, admin."
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [from, to]
              properties:
                from: {type: string, format: date}
                to: {type: string, format: date}
      responses:
        "201":
          description: "Exported: the JSON, its .sig, the CSV and the HTML (with its pages over 1,000 requests)."
          headers:
            Location:
              schema: {type: string}
          content:
            application/json:
              schema:
                type: object
                required: [requests, files]
                properties:
                  requests: {type: integer, minimum: 0}
                  files: {type: array, items: {type: string}}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
    get:
      operationId: listReports
      summary: "The report and certificate files exported so far. Roles: auditor, admin."
      responses:
        "200":
          description: File names.
          content:
            application/json:
              schema:
                type: object
                required: [files]
                properties:
                  files: {type: array, items: {type: string}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
  /api/v1/reports/{file}:
    get:
      operationId: getReportFile
      summary: "One exported file: .json (the signed record), .json.sig (raw Ed25519), .csv or .html. Roles: auditor, admin."
      parameters:
        - {name: file, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: The file.
          content:
            application/json:
              schema: {type: object}
            application/octet-stream:
              schema: {type: string, format: binary}
            text/csv; charset=utf-8:
              schema: {type: string}
            text/html; charset=utf-8:
              schema: {type: string}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /api/v1/requests/{id}/certificate:
    get:
      operationId: getCertificate
      summary: "Export the request's signed erasure certificate and answer its JSON; the signature (base64) is in Lethe-Signature. Roles: officer, auditor, admin."
      description: |
        Asked again while nothing about the request has changed, it answers the certificate
        already written: no file is written and nothing is signed again.
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: The signed certificate.
          headers:
            Lethe-Signature:
              description: The raw Ed25519 signature over the body, base64.
              schema: {type: string}
            Location:
              schema: {type: string}
          content:
            application/json:
              schema: {type: object}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
        "409": {$ref: "#/components/responses/Problem"}
  /api/v1/keys:
    get:
      operationId: listKeys
      summary: "The report verification keys (PEM): the current one and those kept from before a rotation. Roles: auditor, admin."
      responses:
        "200":
          description: The keys.
          content:
            application/json:
              schema:
                type: object
                required: [current, earlier]
                properties:
                  current: {$ref: "#/components/schemas/Key"}
                  earlier: {type: array, items: {$ref: "#/components/schemas/Key"}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
  /api/v1/sweeps:
    post:
      operationId: sweep
      summary: "Turn a consent ledger into withdrawals, idempotently, as `lethe sweep` does. Roles: officer, admin."
      description: |
        The body is the ledger (CSV with a header row, or JSON Lines), streamed to disk. An
        invalid row refuses the whole ledger (422, with line numbers) unless skip_invalid=true.
        A ledger over the server's --max-ledger-bytes (default 100 MiB) is refused with 413;
        nothing is filed and the part received is deleted.
      parameters:
        - {name: dry_run, in: query, schema: {type: boolean}}
        - {name: skip_invalid, in: query, schema: {type: boolean}}
      requestBody:
        required: true
        content:
          text/csv:
            schema: {type: string}
          application/x-ndjson:
            schema: {type: string}
      responses:
        "200":
          description: "What the sweep found and filed (or would file, with dry_run)."
          content:
            application/json:
              schema:
                type: object
                required: [dry_run, rows, subjects, revocations_filed, purposes_filed, already_filed, invalid_rows, request_ids, request_ids_total]
                properties:
                  dry_run: {type: boolean}
                  rows: {type: integer}
                  subjects: {type: integer}
                  revocations_filed: {type: integer}
                  purposes_filed: {type: integer}
                  already_filed: {type: integer}
                  invalid_rows: {type: integer}
                  regrants: {type: integer}
                  awaiting_approval: {type: integer, description: "Of the withdrawals filed, those that wait for approval (approval: all)."}
                  request_ids: {type: array, maxItems: 1000, items: {type: string}}
                  request_ids_total: {type: integer}
        "400": {$ref: "#/components/responses/Problem"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "413": {$ref: "#/components/responses/Problem"}
        "415": {$ref: "#/components/responses/Problem"}
        "422": {$ref: "#/components/responses/Problem"}
  /api/v1/targets:
    get:
      operationId: listTargets
      summary: "Each target and what is shared with it, for which purpose, on which basis. Roles: officer, auditor, admin."
      responses:
        "200":
          description: The targets.
          content:
            application/json:
              schema:
                type: object
                required: [targets]
                properties:
                  targets:
                    type: array
                    items:
                      type: object
                      required: [name, description, shares, last_check]
                      properties:
                        name: {type: string}
                        description: {type: string}
                        last_check:
                          description: The last check through POST /api/v1/targets/{name}/check since the server started, or null.
                          oneOf:
                            - {type: "null"}
                            - {$ref: "#/components/schemas/TargetCheck"}
                        shares:
                          type: array
                          items:
                            type: object
                            required: [purpose, basis, attributes, groups]
                            properties:
                              purpose: {type: string}
                              basis: {type: string}
                              attributes: {type: array, items: {type: string}}
                              groups: {type: array, items: {type: string}}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
  /api/v1/targets/{name}/check:
    post:
      operationId: checkTarget
      summary: "Connect to a target, authenticate, read /ServiceProviderConfig and probe filtering; writes nothing. Roles: officer, admin."
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: What the check found.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/TargetCheck"}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
        "404": {$ref: "#/components/responses/Problem"}
  /api/v1/audit/verify:
    get:
      operationId: verifyAudit
      summary: "Walk the hash-chained audit log. Roles: auditor, admin."
      responses:
        "200":
          description: What the walk found.
          content:
            application/json:
              schema:
                type: object
                required: [intact, events, last_seq, head_hash, problem]
                properties:
                  intact: {type: boolean}
                  events: {type: integer, minimum: 0}
                  last_seq: {type: [integer, "null"]}
                  head_hash: {type: string}
                  problem: {type: [string, "null"]}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
  /api/v1/tokens:
    get:
      operationId: listTokens
      summary: "API tokens (never their secrets). Roles: admin."
      responses:
        "200":
          description: The tokens.
          content:
            application/json:
              schema:
                type: object
                required: [tokens]
                properties:
                  tokens:
                    type: array
                    items:
                      type: object
                      required: [id, name, role, created, revoked]
                      properties:
                        id: {type: string}
                        name: {type: string}
                        role: {type: string, enum: [officer, auditor, admin]}
                        created: {type: string, format: date-time}
                        revoked: {type: [string, "null"], format: date-time}
        "401": {$ref: "#/components/responses/Problem"}
        "403": {$ref: "#/components/responses/Problem"}
webhooks:
  requestEvent:
    post:
      summary: "What each `lethe serve --webhook URL` receives when a request completes, fails, needs review or becomes overdue."
      description: |
        Signed over its time and body: `Lethe-Webhook-Timestamp: SECONDS` (since 1970) and
        `Lethe-Webhook-Signature: sha256=HEX`, the HMAC-SHA256 of `SECONDS.BODY` under
        LETHE_WEBHOOK_SECRET (at least 32 bytes). Refuse a timestamp more than 5 minutes from
        your clock. Delivered at least once (retried with backoff, resent after a restart
        until a 2xx); deduplicate by `id`, also sent as `Lethe-Webhook-Id`.
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [id, type, at, request]
              properties:
                id: {type: string}
                type: {type: string, enum: [request.completed, request.failed, request.needs_review, request.overdue]}
                at: {type: string, format: date-time}
                request:
                  type: object
                  required: [id, ref, kind, state, subject, due]
                  properties:
                    id: {type: string}
                    ref: {type: [string, "null"]}
                    kind: {type: string}
                    state: {type: string}
                    subject: {type: string, description: The subject's pseudonym.}
                    due: {type: string, format: date}
      responses:
        "2XX":
          description: Received; not sent again.
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
  responses:
    Problem:
      description: An RFC 9457 problem document.
      content:
        application/problem+json:
          schema: {$ref: "#/components/schemas/Problem"}
  schemas:
    Problem:
      type: object
      required: [type, title, status, detail]
      properties:
        type: {type: string}
        title: {type: string}
        status: {type: integer}
        detail: {type: string}
        pointer: {type: string, description: "JSON pointer (RFC 6901) to the offending field, as #/subject/email"}
        errors:
          type: array
          items:
            type: object
            required: [detail]
            properties:
              detail: {type: string}
              pointer: {type: string}
              line: {type: integer, description: The ledger line of a bad row.}
    RequestState:
      type: string
      enum: [awaiting_approval, received, in_progress, completed, failed, needs_review, cancelled, rejected]
    TargetCheck:
      type: object
      required: [target, base_url, reachable, usable, filter_query_works, external_id_filter_works, updates, problems, warnings, milliseconds]
      properties:
        target: {type: string}
        base_url: {type: string}
        reachable: {type: boolean}
        usable: {type: boolean}
        capabilities:
          type: [object, "null"]
          properties:
            patch: {type: boolean}
            filter: {type: boolean}
            etag: {type: boolean}
            filterMaxResults: {type: [integer, "null"]}
        filter_query_works: {type: boolean}
        external_id_filter_works: {type: boolean}
        updates: {type: string}
        problems: {type: array, items: {type: string}}
        warnings: {type: array, items: {type: string}}
        milliseconds: {type: integer}
        at: {type: string, format: date-time}
    Key:
      type: object
      required: [key_id, pem]
      properties:
        key_id: {type: string}
        pem: {type: string}
    Subject:
      type: object
      additionalProperties: false
      minProperties: 1
      properties:
        email: {type: string, format: email}
        external_id: {type: string}
        user_name: {type: string}
    NewRequest:
      type: object
      additionalProperties: false
      required: [kind, subject]
      properties:
        kind: {type: string, enum: [erasure, revocation]}
        subject: {$ref: "#/components/schemas/Subject"}
        purposes:
          description: The purposes whose consent is withdrawn; a revocation names at least one, an erasure none.
          type: array
          items: {type: string}
        ref: {type: string, minLength: 1, maxLength: 200, description: "Your ticket reference; filing it again is idempotent."}
        received: {type: string, format: date, description: "The day the request was received (default today, UTC); due one month later."}
        note: {type: string, maxLength: 2000}
    Request:
      type: object
      required: [id, kind, state, purposes, received, due, extended_months, overdue, deadline, subject, actions, retention_erasures]
      properties:
        id: {type: string}
        kind: {type: string, enum: [erasure, revocation]}
        state: {$ref: "#/components/schemas/RequestState"}
        ref: {type: [string, "null"]}
        purposes: {type: array, items: {type: string}}
        received: {type: string, format: date}
        due: {type: string, format: date}
        extended_months: {type: integer}
        overdue: {type: boolean}
        deadline: {type: string}
        completed_at: {type: [string, "null"], format: date-time}
        subject: {type: string, description: The subject's pseudonym.}
        requested_by: {type: [string, "null"]}
        cancel_reason: {type: [string, "null"]}
        cancellation: {type: [string, "null"]}
        approval:
          type: [object, "null"]
          description: "The four-eyes decision, when approval was required or the request was rejected."
          required: [state]
          properties:
            state: {type: string, enum: [awaiting, approved, rejected]}
            by: {type: [string, "null"]}
            at: {type: [string, "null"], format: date-time}
            note: {type: [string, "null"]}
            reason: {type: [string, "null"]}
        starts_at: {type: [string, "null"], format: date-time, description: "While nothing has started: no target is touched before this (the grace period)."}
        retention_erasures:
          type: array
          items:
            type: object
            required: [target, due, state, attributes]
            properties:
              target: {type: string}
              due: {type: string}
              state: {type: string}
              attributes: {type: array, items: {type: string}}
              verified: {type: [boolean, "null"]}
              completed_at: {type: [string, "null"]}
              last_error: {type: [string, "null"]}
        actions:
          type: array
          items:
            type: object
            required: [target, operation, state, attempts, attributes, groups, retained]
            properties:
              target: {type: string}
              operation: {type: string}
              state: {type: string}
              outcome: {type: [string, "null"]}
              verified: {type: [boolean, "null"]}
              verification: {type: [string, "null"]}
              attempts: {type: integer}
              last_error: {type: [string, "null"]}
              next_attempt_at: {type: [string, "null"]}
              completed_at: {type: [string, "null"]}
              attributes: {type: array, items: {type: string}}
              groups: {type: array, items: {type: string}}
              retained:
                type: array
                items:
                  type: object
                  required: [purpose, basis, attributes, until, ended]
                  properties:
                    purpose: {type: string}
                    basis: {type: string}
                    attributes: {type: array, items: {type: string}}
                    until: {type: string}
                    ended: {type: boolean}
"""#
}
