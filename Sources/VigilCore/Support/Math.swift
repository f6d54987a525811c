#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The C math library, reached without Foundation.
enum Math {
    @inline(__always) static func log10(_ x: Double) -> Double { Glibc_log10(x) }
    @inline(__always) static func log(_ x: Double) -> Double { Glibc_log(x) }
    @inline(__always) static func exp(_ x: Double) -> Double { Glibc_exp(x) }
    @inline(__always) static func sqrt(_ x: Double) -> Double { x.squareRoot() }
}

@inline(__always) private func Glibc_log10(_ x: Double) -> Double { log10(x) }
@inline(__always) private func Glibc_log(_ x: Double) -> Double { log(x) }
@inline(__always) private func Glibc_exp(_ x: Double) -> Double { exp(x) }
