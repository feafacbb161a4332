// filtered_lrelu: bias, upsample + FIR, leaky ReLU * gain, clamp, FIR + downsample in one launch
// (spec: shared/spec/stylegan-reference.md §4.3; the definition is kernels/filtered_lrelu.py
// `_reference`).
//
// One block computes one tile_h x tile_w output tile of one (n, c) plane at a time (a loop over
// planes by gridDim.z). Everything between the input and the output stays in shared memory:
//   1. s_x:   the input rows/columns the tile needs, bias added, zero outside the image;
//   2. s_mid: the full-rate ("intermediate") tile, computed polyphase: for each sample only the
//             fu taps that land on a real (non-inserted-zero) input sample are visited; a
//             separable fu runs as a width pass into s_tmp, then a height pass into s_mid;
//             lrelu(slope) * gain and the clamp are applied as each value is written;
//   3. the fd pass reads s_mid (separable: width pass into s_tmp, then height pass) and writes
//      the down-sampled output tile to global memory.
// The full-rate intermediate never goes to global memory. Accumulation in float32 (fp16 too).
//
// Filters arrive as float32 *correlation* weights (the launcher flips them unless flip_filter
// and folds the up gain in): a separable filter is [w_x (f_w values), w_y (f_h values)], a 2-D
// one is [f_h, f_w] row-major. Shared memory is dynamic; its size is the formula in
// `flrelu_layout` below, mirrored by kernels/filtered_lrelu.py `_shared_floats` (keep the two
// equal). Launch ABI: kernels/csrc/README.md.
//
// Written for NVRTC and for the CPU emulation in tests/ (g++ through a shim): only blockIdx /
// threadIdx / blockDim / gridDim, __syncthreads (reached by every thread: all loop bounds are
// block-uniform), one extern __shared__ array, cuda_fp16 conversions. No warp intrinsics.

#include <cuda_fp16.h>

#define FLRELU_BLOCK 256

__device__ __forceinline__ float flrelu_load(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float flrelu_load(const __half* p, long long i)
{
    return __half2float(p[i]);
}
__device__ __forceinline__ void flrelu_store(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void flrelu_store(__half* p, long long i, float v)
{
    p[i] = __float2half_rn(v);
}

// floor(a / b) and the non-negative a mod b, for b > 0 and any sign of a.
__device__ __forceinline__ int flrelu_floor_div(int a, int b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}
__device__ __forceinline__ int flrelu_mod(int a, int b) { return a - flrelu_floor_div(a, b) * b; }

// Sizes of the shared-memory tiles (in floats); see the header comment.
struct FlreluLayout {
    int mid_w, mid_h;  // full-rate tile: (tile - 1) * down + fd taps
    int in_w, in_h;    // input tile: (mid + fu taps - 2) / up + 1
    int n_fu, n_fd;    // filter values
    int n_tmp;         // separable pass buffer
};

__device__ __forceinline__ FlreluLayout flrelu_layout(int tile_w, int tile_h, int up_x, int up_y,
                                                      int down_x, int down_y, int fu_w, int fu_h,
                                                      int fu_sep, int fd_w, int fd_h, int fd_sep)
{
    FlreluLayout l;
    l.mid_w = (tile_w - 1) * down_x + fd_w;
    l.mid_h = (tile_h - 1) * down_y + fd_h;
    l.in_w = (l.mid_w + fu_w - 2) / up_x + 1;
    l.in_h = (l.mid_h + fu_h - 2) / up_y + 1;
    l.n_fu = fu_sep ? fu_w + fu_h : fu_w * fu_h;
    l.n_fd = fd_sep ? fd_w + fd_h : fd_w * fd_h;
    const int tmp_up = fu_sep ? l.in_h * l.mid_w : 0;
    const int tmp_down = fd_sep ? l.mid_h * tile_w : 0;
    l.n_tmp = tmp_up > tmp_down ? tmp_up : tmp_down;
    return l;
}

// Everything a tile pass needs, block-uniform.
struct FlreluArgs {
    int in_h, in_w, out_h, out_w, up_x, up_y, down_x, down_y, pad_x0, pad_y0;
    int fu_w, fu_h, fu_sep, fd_w, fd_h, fd_sep, tile_w, tile_h;
    float gain, slope, clamp;
};

// lrelu(slope) * gain, then clamp to [-clamp, clamp] when clamp >= 0 (NaN stays NaN, as in
// torch.clamp; fminf/fmaxf would turn it into a bound).
__device__ __forceinline__ float flrelu_act(float v, const FlreluArgs& a)
{
    v = (v >= 0.0f ? v : v * a.slope) * a.gain;
    if (a.clamp >= 0.0f) v = v > a.clamp ? a.clamp : (v < -a.clamp ? -a.clamp : v);
    return v;
}

// 1. s_x[r][c] = x[iy0 + r][ix0 + c] + bias, zero outside the image.
template <typename T>
__device__ __forceinline__ void flrelu_load_tile(const T* __restrict__ plane, float bias,
                                                 float* s_x, const FlreluLayout& l,
                                                 const FlreluArgs& a, int iy0, int ix0)
{
    const int n = l.in_h * l.in_w;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const int iy = iy0 + i / l.in_w;
        const int ix = ix0 + i % l.in_w;
        const bool inside = iy >= 0 && iy < a.in_h && ix >= 0 && ix < a.in_w;
        s_x[i] = inside ? flrelu_load(plane, (long long)iy * a.in_w + ix) + bias : 0.0f;
    }
}

// 2a. separable up pass: width into s_tmp [in_h, mid_w], height into s_mid [mid_h, mid_w].
// Full-rate sample m (tile-local) reads upsampled position u = m0 + m - pad0 + k for tap k; only
// the k with u % up == 0 hit an input sample, at tile-local index u / up - i0.
__device__ __forceinline__ void flrelu_up_separable(const float* s_x, const float* s_fu,
                                                    float* s_tmp, float* s_mid,
                                                    const FlreluLayout& l, const FlreluArgs& a,
                                                    int my0, int mx0, int iy0, int ix0)
{
    const float* w_x = s_fu;
    const float* w_y = s_fu + a.fu_w;
    const int n_tmp = l.in_h * l.mid_w;
    for (int i = threadIdx.x; i < n_tmp; i += blockDim.x) {
        const int r = i / l.mid_w;
        const int mx = i % l.mid_w;
        const int u = mx0 + mx - a.pad_x0;
        const int k0 = flrelu_mod(-u, a.up_x);
        const float* row = s_x + r * l.in_w + (u + k0) / a.up_x - ix0;
        float acc = 0.0f;
        for (int k = k0, j = 0; k < a.fu_w; k += a.up_x, ++j) acc += row[j] * w_x[k];
        s_tmp[i] = acc;
    }
    __syncthreads();
    const int n_mid = l.mid_h * l.mid_w;
    for (int i = threadIdx.x; i < n_mid; i += blockDim.x) {
        const int my = i / l.mid_w;
        const int mx = i % l.mid_w;
        const int u = my0 + my - a.pad_y0;
        const int k0 = flrelu_mod(-u, a.up_y);
        const float* col = s_tmp + ((u + k0) / a.up_y - iy0) * l.mid_w + mx;
        float acc = 0.0f;
        for (int k = k0, j = 0; k < a.fu_h; k += a.up_y, j += l.mid_w) acc += col[j] * w_y[k];
        s_mid[i] = flrelu_act(acc, a);
    }
}

// 2b. 2-D up pass straight into s_mid (same polyphase indexing on both axes).
__device__ __forceinline__ void flrelu_up_2d(const float* s_x, const float* s_fu, float* s_mid,
                                             const FlreluLayout& l, const FlreluArgs& a, int my0,
                                             int mx0, int iy0, int ix0)
{
    const int n_mid = l.mid_h * l.mid_w;
    for (int i = threadIdx.x; i < n_mid; i += blockDim.x) {
        const int my = i / l.mid_w;
        const int mx = i % l.mid_w;
        const int uy = my0 + my - a.pad_y0;
        const int ux = mx0 + mx - a.pad_x0;
        const int ky0 = flrelu_mod(-uy, a.up_y);
        const int kx0 = flrelu_mod(-ux, a.up_x);
        const float* base = s_x + ((uy + ky0) / a.up_y - iy0) * l.in_w + (ux + kx0) / a.up_x - ix0;
        float acc = 0.0f;
        for (int ky = ky0, r = 0; ky < a.fu_h; ky += a.up_y, r += l.in_w) {
            const float* w = s_fu + ky * a.fu_w;
            for (int kx = kx0, j = 0; kx < a.fu_w; kx += a.up_x, ++j) acc += base[r + j] * w[kx];
        }
        s_mid[i] = flrelu_act(acc, a);
    }
}

// 3a. separable down pass: width into s_tmp [mid_h, tile_w], then height to the output.
template <typename T>
__device__ __forceinline__ void flrelu_down_separable(const float* s_mid, const float* s_fd,
                                                      float* s_tmp, T* __restrict__ out_plane,
                                                      const FlreluLayout& l, const FlreluArgs& a,
                                                      int oy0, int ox0)
{
    const float* w_x = s_fd;
    const float* w_y = s_fd + a.fd_w;
    const int n_tmp = l.mid_h * a.tile_w;
    for (int i = threadIdx.x; i < n_tmp; i += blockDim.x) {
        const int my = i / a.tile_w;
        const int ox = i % a.tile_w;
        const float* row = s_mid + my * l.mid_w + ox * a.down_x;
        float acc = 0.0f;
        for (int k = 0; k < a.fd_w; ++k) acc += row[k] * w_x[k];
        s_tmp[i] = acc;
    }
    __syncthreads();
    const int n_out = a.tile_h * a.tile_w;
    for (int i = threadIdx.x; i < n_out; i += blockDim.x) {
        const int oy = i / a.tile_w;
        const int ox = i % a.tile_w;
        if (oy0 + oy >= a.out_h || ox0 + ox >= a.out_w) continue;
        const float* col = s_tmp + oy * a.down_y * a.tile_w + ox;
        float acc = 0.0f;
        for (int k = 0; k < a.fd_h; ++k) acc += col[k * a.tile_w] * w_y[k];
        flrelu_store(out_plane, (long long)(oy0 + oy) * a.out_w + ox0 + ox, acc);
    }
}

// 3b. 2-D down pass from s_mid to the output.
template <typename T>
__device__ __forceinline__ void flrelu_down_2d(const float* s_mid, const float* s_fd,
                                               T* __restrict__ out_plane, const FlreluLayout& l,
                                               const FlreluArgs& a, int oy0, int ox0)
{
    const int n_out = a.tile_h * a.tile_w;
    for (int i = threadIdx.x; i < n_out; i += blockDim.x) {
        const int oy = i / a.tile_w;
        const int ox = i % a.tile_w;
        if (oy0 + oy >= a.out_h || ox0 + ox >= a.out_w) continue;
        const float* base = s_mid + oy * a.down_y * l.mid_w + ox * a.down_x;
        float acc = 0.0f;
        for (int ky = 0; ky < a.fd_h; ++ky) {
            const float* row = base + ky * l.mid_w;
            const float* w = s_fd + ky * a.fd_w;
            for (int kx = 0; kx < a.fd_w; ++kx) acc += row[kx] * w[kx];
        }
        flrelu_store(out_plane, (long long)(oy0 + oy) * a.out_w + ox0 + ox, acc);
    }
}

template <typename T>
__device__ __forceinline__ void flrelu_impl(float* smem, const T* __restrict__ x,
                                            const float* __restrict__ b, T* __restrict__ y,
                                            const float* __restrict__ fu,
                                            const float* __restrict__ fd, int planes,
                                            int channels, const FlreluArgs& a)
{
    const FlreluLayout l = flrelu_layout(a.tile_w, a.tile_h, a.up_x, a.up_y, a.down_x, a.down_y,
                                         a.fu_w, a.fu_h, a.fu_sep, a.fd_w, a.fd_h, a.fd_sep);
    float* s_fu = smem;
    float* s_fd = s_fu + l.n_fu;
    float* s_x = s_fd + l.n_fd;
    float* s_mid = s_x + l.in_h * l.in_w;
    float* s_tmp = s_mid + l.mid_h * l.mid_w;
    for (int i = threadIdx.x; i < l.n_fu; i += blockDim.x) s_fu[i] = fu[i];
    for (int i = threadIdx.x; i < l.n_fd; i += blockDim.x) s_fd[i] = fd[i];

    const int oy0 = blockIdx.y * a.tile_h;
    const int ox0 = blockIdx.x * a.tile_w;
    const int my0 = oy0 * a.down_y;  // first full-rate sample of the tile
    const int mx0 = ox0 * a.down_x;
    const int iy0 = -flrelu_floor_div(a.pad_y0 - my0, a.up_y);  // ceil((my0 - pad_y0) / up_y)
    const int ix0 = -flrelu_floor_div(a.pad_x0 - mx0, a.up_x);
    for (long long p = blockIdx.z; p < planes; p += gridDim.z) {
        const float bias = b ? b[p % channels] : 0.0f;
        __syncthreads();  // the previous plane's passes are done with the buffers (and filters)
        flrelu_load_tile(x + p * a.in_h * a.in_w, bias, s_x, l, a, iy0, ix0);
        __syncthreads();
        if (a.fu_sep)
            flrelu_up_separable(s_x, s_fu, s_tmp, s_mid, l, a, my0, mx0, iy0, ix0);
        else
            flrelu_up_2d(s_x, s_fu, s_mid, l, a, my0, mx0, iy0, ix0);
        __syncthreads();
        T* out_plane = y + p * a.out_h * a.out_w;
        if (a.fd_sep)
            flrelu_down_separable(s_mid, s_fd, s_tmp, out_plane, l, a, oy0, ox0);
        else
            flrelu_down_2d(s_mid, s_fd, out_plane, l, a, oy0, ox0);
    }
}

// The entry points: one body for float32 and float16 tensors (filters and bias are float32).
extern "C" __global__ __launch_bounds__(FLRELU_BLOCK) void filtered_lrelu_f32(
    const float* x, const float* b, float* y, const float* fu, const float* fd, int planes,
    int channels, int in_h, int in_w, int out_h, int out_w, int up_x, int up_y, int down_x,
    int down_y, int pad_x0, int pad_y0, int fu_w, int fu_h, int fu_sep, int fd_w, int fd_h,
    int fd_sep, int tile_w, int tile_h, float gain, float slope, float clamp)
{
    extern __shared__ float flrelu_smem[];
    const FlreluArgs a = {in_h,   in_w,   out_h,  out_w, up_x, up_y,   down_x,
                          down_y, pad_x0, pad_y0, fu_w,  fu_h, fu_sep, fd_w,
                          fd_h,   fd_sep, tile_w, tile_h, gain, slope, clamp};
    flrelu_impl<float>(flrelu_smem, x, b, y, fu, fd, planes, channels, a);
}

extern "C" __global__ __launch_bounds__(FLRELU_BLOCK) void filtered_lrelu_f16(
    const __half* x, const float* b, __half* y, const float* fu, const float* fd, int planes,
    int channels, int in_h, int in_w, int out_h, int out_w, int up_x, int up_y, int down_x,
    int down_y, int pad_x0, int pad_y0, int fu_w, int fu_h, int fu_sep, int fd_w, int fd_h,
    int fd_sep, int tile_w, int tile_h, float gain, float slope, float clamp)
{
    extern __shared__ float flrelu_smem[];
    const FlreluArgs a = {in_h,   in_w,   out_h,  out_w, up_x, up_y,   down_x,
                          down_y, pad_x0, pad_y0, fu_w,  fu_h, fu_sep, fd_w,
                          fd_h,   fd_sep, tile_w, tile_h, gain, slope, clamp};
    flrelu_impl<__half>(flrelu_smem, x, b, y, fu, fd, planes, channels, a);
}
