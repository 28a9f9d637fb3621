/// The dashboard's stylesheet and script, served by Lethe itself (no CDN, no build step).
enum DashboardAssets {
    static let icon = ##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0d2c54"/><path d="M5 3v10h6" stroke="#fff" stroke-width="2" fill="none"/></svg>"##

    static let css = """
        :root { --fg: #1b1b1b; --muted: #5f6368; --line: #d0d4d9; --bg: #f7f8fa; --card: #fff; --accent: #1565c0; --bad: #b71c1c; --ok: #2e7d32; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .6rem 1rem; background: #0d2c54; color: #fff; }
        header a { color: #fff; }
        .brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; letter-spacing: .05em; }
        nav { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; flex: 1; }
        nav ul { display: flex; flex-wrap: wrap; gap: .2rem 1rem; list-style: none; margin: 0; padding: 0; }
        nav a[aria-current=page] { font-weight: 700; text-decoration: underline; }
        .signout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
        main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
        footer { color: var(--muted); font-size: .85rem; text-align: center; padding: 2rem 1rem; }
        h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 1.5rem; } h3 { font-size: 1.05rem; margin: 0 0 .4rem; }
        a { color: var(--accent); }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #ffb300; outline-offset: 2px; }
        table { border-collapse: collapse; width: 100%; background: var(--card); margin: .5rem 0; }
        th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
        caption { text-align: left; color: var(--muted); padding: .2rem 0; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin: .6rem 0; }
        form.card label, fieldset label { display: block; margin-top: .4rem; }
        input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid #8a9099; border-radius: 4px; }
        input[type=checkbox], input[type=radio] { padding: 0; margin-right: .3rem; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; margin-top: .5rem; }
        button.secondary { background: #fff; color: var(--accent); }
        button.danger { background: var(--bad); border-color: var(--bad); }
        button[disabled] { opacity: .5; cursor: not-allowed; }
        fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .6rem 0; }
        .filters fieldset { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
        .filters label { margin: 0; }
        .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: .6rem; }
        .tile { display: block; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .7rem; text-decoration: none; color: var(--fg); }
        .tile .count { display: block; font-size: 1.8rem; font-weight: 700; }
        .tile.alarm { border-color: var(--bad); } .tile.alarm .count { color: var(--bad); }
        .actions { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: .6rem; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        .facts dt { font-weight: 600; } .facts dd { margin: 0; }
        .bad { color: var(--bad); } .notice { background: #e8f5e9; border: 1px solid #a5d6a7; padding: .5rem; border-radius: 4px; }
        .error { background: #ffebee; border: 1px solid #ef9a9a; padding: .5rem; border-radius: 4px; }
        .hint { color: var(--muted); font-size: .9rem; }
        .state { padding: .05rem .4rem; border-radius: 3px; background: #eceff1; white-space: nowrap; }
        .state-completed, .state-succeeded { background: #e8f5e9; color: var(--ok); }
        .state-failed, .state-needs_review { background: #ffebee; color: var(--bad); }
        .state-awaiting_approval, .state-held { background: #fff8e1; }
        .chart { width: 100%; max-width: 640px; height: auto; background: var(--card); border: 1px solid var(--line); }
        .legend { list-style: none; display: flex; flex-wrap: wrap; gap: 1rem; padding: 0; }
        .swatch { display: inline-block; width: .9rem; height: .9rem; margin-right: .3rem; vertical-align: middle; }
        .swatch.c0 { background: #2e7d32; } .swatch.c1 { background: #1565c0; } .swatch.c2 { background: #c62828; } .swatch.c3 { background: #757575; }
        .split { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 0 1.5rem; }
        .downloads { display: flex; flex-wrap: wrap; gap: 1rem; }
        output { display: block; margin-top: .6rem; white-space: pre-wrap; }
        code { font-size: .9em; }
        p, dd, td, output { overflow-wrap: anywhere; }
        @media (max-width: 640px) {
          .facts, .split { grid-template-columns: 1fr; }
          main table:not(.list) { display: block; overflow-x: auto; }
          table.list thead { display: none; }
          table.list tr { display: block; border-bottom: 2px solid var(--line); }
          table.list td { display: block; border: 0; padding: .15rem .5rem; }
        }
        """

    static let js = """
        "use strict";
        // Times: shown in the browser's time zone; the UTC value stays in the title (hover).
        function localTimes() {
          for (const node of document.querySelectorAll("time[datetime]")) {
            const when = new Date(node.getAttribute("datetime"));
            if (!isNaN(when)) node.textContent = when.toLocaleString();
          }
        }
        function base64(file) {
          return file.arrayBuffer().then((buffer) => {
            let text = "";
            const bytes = new Uint8Array(buffer);
            for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
            return btoa(text);
          });
        }
        function verifyForm(form) {
          form.addEventListener("submit", async (event) => {
            event.preventDefault();
            const out = document.getElementById("verify-result");
            const report = document.getElementById("report-file").files[0];
            const signature = document.getElementById("signature-file").files[0];
            if (!report || !signature) { out.textContent = "Choose the report and its signature."; return; }
            out.textContent = "Verifying…";
            const body = JSON.stringify({ report: await base64(report), signature: await base64(signature) });
            const answer = await fetch("/reports/verify", { method: "POST", credentials: "same-origin",
              headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf }, body });
            const result = await answer.json();
            out.textContent = result.valid ? "VALID: " + (result.passed || []).join("; ") : "INVALID: " + (result.problem || result.detail || "unknown");
            out.className = result.valid ? "notice" : "error";
          });
        }
        function sweepForm(form) {
          let dryRunOK = false;
          const fileButton = document.getElementById("sweep-file");
          document.getElementById("ledger").addEventListener("change", () => { dryRunOK = false; fileButton.disabled = true; });
          form.addEventListener("submit", async (event) => {
            event.preventDefault();
            const dryRun = (event.submitter && event.submitter.dataset.dryRun) !== "false";
            const out = document.getElementById("sweep-result");
            const ledger = document.getElementById("ledger").files[0];
            if (!ledger) { out.textContent = "Choose a ledger file."; return; }
            const type = /\\.(jsonl|ndjson)$/i.test(ledger.name) ? "application/x-ndjson" : "text/csv";
            out.textContent = dryRun ? "Reading the ledger…" : "Filing…";
            const answer = await fetch("/api/v1/sweeps?dry_run=" + dryRun, { method: "POST", credentials: "same-origin",
              headers: { "Content-Type": type, "X-CSRF-Token": form.dataset.csrf }, body: ledger });
            const result = await answer.json();
            if (!answer.ok) {
              out.className = "error";
              out.textContent = (result.detail || "refused") + (result.errors ? "\\n" + result.errors.map((e) => "line " + e.line + ": " + e.detail).join("\\n") : "");
              return;
            }
            out.className = "notice";
            out.textContent = (dryRun ? "Would file " : "Filed ") + result.revocations_filed + " withdrawal(s) (" + result.purposes_filed + " purpose(s)) from "
              + result.rows + " rows; " + result.already_filed + " already filed; " + result.invalid_rows + " invalid"
              + (result.awaiting_approval ? "; " + result.awaiting_approval + " wait for approval" : "") + ".";
            dryRunOK = dryRun;
            fileButton.disabled = !dryRunOK;
          });
        }
        document.addEventListener("DOMContentLoaded", () => {
          localTimes();
          const verify = document.getElementById("verify-form");
          if (verify) verifyForm(verify);
          const sweep = document.getElementById("sweep-form");
          if (sweep) sweepForm(sweep);
        });
        """
}
