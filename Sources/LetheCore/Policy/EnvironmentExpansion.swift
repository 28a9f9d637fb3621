import Foundation

/// Expands `${VAR}` and `${VAR:-default}` in policy strings from the environment, so one
/// policy set serves test, staging and production.
///
/// `${VAR:-default}` uses the default when VAR is unset or empty, as in POSIX shells.
/// `$$` writes a literal `$`.
public enum EnvironmentExpansion {
    /// Why a string could not be expanded.
    public enum Problem: Error, Sendable, Hashable {
        /// `${VAR}` names a variable that is not set and has no default.
        case unset(name: String, offset: Int)
        /// `${` without a closing `}`, or a malformed name.
        case malformed(offset: Int, detail: String)
    }

    /// Returns the expanded string, or the first problem and its character offset.
    public static func expand(_ text: String, environment: [String: String]) -> Result<String, Problem> {
        guard text.contains("$") else { return .success(text) }
        var output = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "$" else {
                output.append(c)
                i += 1
                continue
            }
            if i + 1 < chars.count, chars[i + 1] == "$" {
                output.append("$")
                i += 2
                continue
            }
            guard i + 1 < chars.count, chars[i + 1] == "{" else {
                output.append(c)
                i += 1
                continue
            }
            guard let close = chars[(i + 2)...].firstIndex(of: "}") else {
                return .failure(.malformed(offset: i, detail: "'${' is never closed with '}'"))
            }
            let body = String(chars[(i + 2)..<close])
            let name: String
            let fallback: String?
            if let range = body.range(of: ":-") {
                name = String(body[..<range.lowerBound])
                fallback = String(body[range.upperBound...])
            } else {
                name = body
                fallback = nil
            }
            guard isVariableName(name) else {
                return .failure(.malformed(offset: i, detail: "'\(name)' is not a variable name (letters, digits, _)"))
            }
            if let value = environment[name], !(fallback != nil && value.isEmpty) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                return .failure(.unset(name: name, offset: i))
            }
            i = close + 1
        }
        return .success(output)
    }

    /// True for POSIX-style variable names.
    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_" else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }
}
