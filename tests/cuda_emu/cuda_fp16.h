// cuda_fp16.h for the CPU emulation (tests/cuda_emu): `#include <cuda_fp16.h>` in a kernel
// resolves here (g++ -I tests/cuda_emu). __half is IEEE binary16 in software: conversion from
// float rounds to nearest even (overflow to inf, subnormals, NaN kept quiet), conversion to
// float is exact. Arithmetic operators go through float (each result rounded once), like
// CUDA's __hadd etc. for finite values.

#pragma once

#include <cstdint>
#include <cstring>

struct __half;
inline __half __float2half_rn(float f);
inline float __half2float(__half h);

struct __half {
    uint16_t bits;  // IEEE binary16, the same layout as numpy.float16
    __half() = default;
    __half(float f) : bits(__float2half_rn(f).bits) {}  // implicit, as in CUDA
    operator float() const { return __half2float(*this); }
};
static_assert(sizeof(__half) == 2, "__half must be 2 bytes");

namespace cuda_emu {

inline __half half_from_bits(uint16_t bits)
{
    __half h;
    h.bits = bits;
    return h;
}

// float32 -> binary16, round to nearest, ties to even.
inline uint16_t float_to_half_bits(float f)
{
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t exp = (x >> 23) & 0xFFu;
    uint32_t mant = x & 0x7FFFFFu;
    if (exp == 0xFF)  // inf or NaN (quiet, top payload bits kept)
        return (uint16_t)(sign | 0x7C00u | (mant ? 0x200u | (mant >> 13) : 0u));
    const int e = (int)exp - 127 + 15;  // biased half exponent
    if (e >= 31) return (uint16_t)(sign | 0x7C00u);  // overflow to inf
    if (e <= 0) {  // subnormal half (or zero)
        if (e < -10) return sign;  // below half the smallest subnormal: +-0
        mant |= 0x800000u;  // implicit leading 1
        const int shift = 14 - e;  // 14..24
        uint32_t h = mant >> shift;
        const uint32_t rest = mant & ((1u << shift) - 1u);
        const uint32_t half_way = 1u << (shift - 1);
        if (rest > half_way || (rest == half_way && (h & 1u))) ++h;  // may carry into normal
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // may carry up to inf
    return (uint16_t)(sign | h);
}

// binary16 -> float32, exact.
inline float half_bits_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t x;
    if (exp == 0x1F) {
        x = sign | 0x7F800000u | (mant << 13);
    } else if (exp != 0) {
        x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    } else if (mant == 0) {
        x = sign;
    } else {  // subnormal: normalise
        int e = -1;
        do {
            ++e;
            mant <<= 1;
        } while ((mant & 0x400u) == 0);
        x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3FFu) << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

}  // namespace cuda_emu

inline __half __float2half_rn(float f) { return cuda_emu::half_from_bits(cuda_emu::float_to_half_bits(f)); }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return cuda_emu::half_bits_to_float(h.bits); }
inline __half __ushort_as_half(unsigned short u) { return cuda_emu::half_from_bits(u); }
inline unsigned short __half_as_ushort(__half h) { return h.bits; }
inline __half __hadd(__half a, __half b) { return __float2half_rn(__half2float(a) + __half2float(b)); }
inline __half __hsub(__half a, __half b) { return __float2half_rn(__half2float(a) - __half2float(b)); }
inline __half __hmul(__half a, __half b) { return __float2half_rn(__half2float(a) * __half2float(b)); }
inline __half __hneg(__half a) { return cuda_emu::half_from_bits((uint16_t)(a.bits ^ 0x8000u)); }
inline __half __hfma(__half a, __half b, __half c)
{
    return __float2half_rn((float)((double)__half2float(a) * __half2float(b) + __half2float(c)));
}
