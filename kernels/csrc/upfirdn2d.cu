// upfirdn2d: upsample (zero insertion), pad/crop, FIR filter, downsample, gain, flip
// (spec: shared/spec/stylegan-reference.md §4.1).
//
// Maps to kernels/upfirdn2d.py `_reference`: output (oy, ox) is the "valid" correlation of the
// padded, zero-stuffed image at (oy*down_y, ox*down_x) with w = f flipped in both axes (flip = 0)
// or f itself (flip = 1), times gain. Padded row r holds upsampled row r - pad_y0, and upsampled
// row u is x row u / up_y when u % up_y == 0, else zero (same for columns).
//
// Launch ABI: kernels/csrc/README.md. Compiled at run time by NVRTC (kernels/_compile.py): no host
// code, no includes but cuda_fp16.h. Grid-stride loop over all planes*out_h*out_w outputs: any grid
// size works and every output is written exactly once. Accumulation in float32 (fp16 too).
//
// This is the clear, direct version: one thread per output pixel, looping only over the filter
// taps that land on non-zero upsampled samples (first tap from the phase, then step by up).
// Performance tuning (shared-memory input tiles, separable passes for 1D filters, polyphase
// specialisations per up/down) comes later and must keep these results.

#include <cuda_fp16.h>

__device__ __forceinline__ float upfirdn2d_load(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float upfirdn2d_load(const __half* p, long long i)
{
    return __half2float(p[i]);
}
__device__ __forceinline__ void upfirdn2d_store(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void upfirdn2d_store(__half* p, long long i, float v)
{
    p[i] = __float2half_rn(v);
}

// Taps k in [k_begin, k_end) step `up` of one axis that read a non-zero upsampled sample inside
// the input: base + k = up * i with 0 <= i < n_in. base = out * down - pad0 (may be negative).
__device__ __forceinline__ void upfirdn2d_tap_range(int base, int up, int n_in, int taps,
                                                    int* k_begin, int* k_end)
{
    int k0;
    if (base < 0) {
        k0 = -base;  // first sample of the upsampled row: u = 0, a multiple of up
    } else {
        const int r = base % up;
        k0 = r == 0 ? 0 : up - r;  // smallest k >= 0 with (base + k) % up == 0
    }
    const long long limit = (long long)n_in * up - base;  // u < n_in * up
    *k_begin = k0;
    *k_end = limit < (long long)taps ? (int)(limit < 0 ? 0 : limit) : taps;
}

template <typename T>
__device__ __forceinline__ void upfirdn2d_impl(const T* x, const float* f, T* y, int planes,
                                               int in_h, int in_w, int out_h, int out_w, int up_x,
                                               int up_y, int down_x, int down_y, int pad_x0,
                                               int pad_y0, int f_h, int f_w, int flip, float gain)
{
    const long long total = (long long)planes * out_h * out_w;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += stride) {
        const int ox = (int)(idx % out_w);
        const long long t = idx / out_w;
        const int oy = (int)(t % out_h);
        const long long p = t / out_h;

        int ky_begin, ky_end, kx_begin, kx_end;
        const int base_y = oy * down_y - pad_y0;
        const int base_x = ox * down_x - pad_x0;
        upfirdn2d_tap_range(base_y, up_y, in_h, f_h, &ky_begin, &ky_end);
        upfirdn2d_tap_range(base_x, up_x, in_w, f_w, &kx_begin, &kx_end);

        const T* plane = x + p * in_h * in_w;
        float acc = 0.0f;
        for (int ky = ky_begin; ky < ky_end; ky += up_y) {
            const int iy = (base_y + ky) / up_y;  // exact, >= 0 and < in_h by the tap range
            const int fy = flip ? ky : f_h - 1 - ky;
            const T* row = plane + (long long)iy * in_w;
            for (int kx = kx_begin; kx < kx_end; kx += up_x) {
                const int ix = (base_x + kx) / up_x;
                const int fx = flip ? kx : f_w - 1 - kx;
                acc += upfirdn2d_load(row, ix) * f[fy * f_w + fx];
            }
        }
        upfirdn2d_store(y, idx, acc * gain);
    }
}

extern "C" __global__ void upfirdn2d_f32(const float* x, const float* f, float* y, int planes,
                                         int in_h, int in_w, int out_h, int out_w, int up_x,
                                         int up_y, int down_x, int down_y, int pad_x0, int pad_y0,
                                         int f_h, int f_w, int flip, float gain)
{
    upfirdn2d_impl<float>(x, f, y, planes, in_h, in_w, out_h, out_w, up_x, up_y, down_x, down_y,
                          pad_x0, pad_y0, f_h, f_w, flip, gain);
}

extern "C" __global__ void upfirdn2d_f16(const __half* x, const float* f, __half* y, int planes,
                                         int in_h, int in_w, int out_h, int out_w, int up_x,
                                         int up_y, int down_x, int down_y, int pad_x0, int pad_y0,
                                         int f_h, int f_w, int flip, float gain)
{
    upfirdn2d_impl<__half>(x, f, y, planes, in_h, in_w, out_h, out_w, up_x, up_y, down_x, down_y,
                           pad_x0, pad_y0, f_h, f_w, flip, gain);
}
