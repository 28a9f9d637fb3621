import Foundation

/// A request path as the router sees it, for every decision made before the router runs.
///
/// Hummingbird's router splits a path on `/` and skips empty segments, so `//api/v1/x` and
/// `/api/v1/x/` reach the same handler as `/api/v1/x`. A middleware that decided on the raw text
/// (`hasPrefix("/api/")`) could be walked around with a doubled slash; deciding on this form
/// cannot. Percent-encoded bytes are decoded (`%2F` is a slash here, even though the router does
/// not route on it) and `.` and `..` segments are resolved, so a path counts as the API whenever
/// any reading of it could.
enum RoutePath {
    /// A webhook target's callback (`/api/v1/callbacks/{action}`): no token and no session, its
    /// signature is checked by the handler with the target's secret.
    static func isCallback(_ normalised: String) -> Bool {
        let segments = normalised.split(separator: "/")
        return segments.count == 4 && segments[0] == "api" && segments[1] == "v1" && segments[2] == "callbacks"
    }

    /// `/` followed by the segments, without empty, `.` or `..` segments.
    static func normalised(_ raw: String) -> String {
        let decoded = raw.removingPercentEncoding ?? raw
        var segments: [Substring] = []
        for segment in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        return "/" + segments.joined(separator: "/")
    }

    /// Whether the path is under `/api/`.
    static func isAPI(_ normalised: String) -> Bool {
        normalised == "/api" || normalised.hasPrefix("/api/")
    }
}
