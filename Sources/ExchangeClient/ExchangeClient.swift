/// The client side of the binary client protocol (docs/PROTOCOL.md). Placeholder.
public enum ExchangeClientVersion { public static let protocolVersion: UInt16 = 1 }
