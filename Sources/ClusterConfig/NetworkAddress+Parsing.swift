/// Why an address text was refused.
struct AddressProblem: Error {
    var code: ClusterConfigError.Code
    var reason: String
}

extension NetworkAddress {
    /// Parses `host:port` / `[ipv6]:port`. Host names follow RFC 1123 (labels of letters, digits and hyphens,
    /// 1-63 characters, 253 in all) and are lower-cased; IPv4 literals are dotted quads; IPv6 literals need brackets.
    /// - Parameter dialled: the address is dialled by others, so `0.0.0.0` and `::` are refused.
    static func parse(_ text: String, dialled: Bool) -> Result<NetworkAddress, AddressProblem> {
        func fail(_ reason: String, _ code: ClusterConfigError.Code = .invalidValue)
            -> Result<NetworkAddress, AddressProblem>
        {
            .failure(AddressProblem(code: code, reason: "'\(text)' \(reason)"))
        }
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return fail("is not [IPv6]:port")
            }
            host = String(text[text.index(after: text.startIndex)..<close]).lowercased()
            portText = text[text.index(close, offsetBy: 2)...]
            guard isIPv6(host) else { return fail("does not hold a valid IPv6 literal") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return fail("is not host:port (the port is missing)") }
            host = String(text[..<colon]).lowercased()
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return fail("holds an IPv6 literal without brackets; write [host]:port") }
            if host.isEmpty { return fail("has an empty host") }
            if host.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) {
                guard isIPv4(host) else { return fail("does not hold a valid IPv4 address") }
            } else if !isHostName(host) {
                return fail("does not hold a valid host name")
            }
        }
        guard !portText.isEmpty, portText.count <= 10, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText)
        else { return fail("does not end in a decimal port number") }
        guard (1...65_535).contains(port) else { return fail("has port \(port), out of range 1...65535", .outOfRange) }
        let address = NetworkAddress(host: host, port: UInt16(port))
        if dialled && address.isUnspecified {
            return fail("is a wildcard address; other processes dial this one, so give a reachable host")
        }
        return .success(address)
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber }
                    && Int(part)! <= 255 && (part.count == 1 || part.first != "0")
            }
    }

    static func isHostName(_ text: String) -> Bool {
        let name = text.hasSuffix(".") ? String(text.dropLast()) : text
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        guard !text.isEmpty, !text.contains("%") else { return false }
        var groups = 0
        var body = Substring(text)
        // A trailing dotted IPv4 counts as two groups.
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(body[body.index(after: lastColon)...])) else { return false }
            groups += 2
            body = body[...lastColon]
            if body.hasSuffix(":") && !body.hasSuffix("::") { body = body.dropLast() }
        }
        var halves = [body]
        if let gap = body.firstRange(of: "::") {
            halves = [body[..<gap.lowerBound], body[gap.upperBound...]]
            if halves[1].contains("::") { return false }
        }
        for half in halves where !half.isEmpty {
            for group in half.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, group.allSatisfy(\.isHexDigit) else { return false }
                groups += 1
            }
        }
        return halves.count == 2 ? groups <= 7 : groups == 8
    }
}
