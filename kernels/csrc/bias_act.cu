// bias_act: bias + activation + gain + clamp, fused (spec: shared/spec/stylegan-reference.md §4.2).
//
// Maps to kernels/bias_act.py `_reference` element by element: y = x + b[c] (b broadcast along the
// channel dim, c = (i / inner) % channels), then act(y, alpha), then y * gain, then clamp to
// [-clamp, clamp] when clamp >= 0. Math in float32 (fp16 in and out are converted once).
//
// Launch ABI: kernels/csrc/README.md. Compiled at run time by NVRTC (kernels/_compile.py): no host
// code, no includes but cuda_fp16.h. Grid-stride loop: any grid size works, every y[i] (i < n) is
// written exactly once.

#include <cuda_fp16.h>

// Activation codes (README): 0 linear, 1 relu, 2 lrelu, 3 tanh, 4 sigmoid, 5 elu, 6 selu,
// 7 softplus, 8 swish. Comparisons are written so that NaN propagates like torch's ops.
__device__ __forceinline__ float bias_act_activate(float x, int act, float alpha)
{
    switch (act) {
    case 1:  // relu
        return x < 0.0f ? 0.0f : x;
    case 2:  // lrelu (torch leaky_relu: x * slope for x < 0)
        return x < 0.0f ? x * alpha : x;
    case 3:  // tanh
        return tanhf(x);
    case 4:  // sigmoid
        return 1.0f / (1.0f + expf(-x));
    case 5:  // elu (alpha 1, torch default)
        return x > 0.0f ? x : expm1f(x);
    case 6: {  // selu (torch constants)
        const float scale = 1.0507009873554804934193349852946f;
        const float a = 1.6732632423543772848170429916717f;
        return x > 0.0f ? scale * x : scale * a * expm1f(x);
    }
    case 7:  // softplus (torch default beta 1, threshold 20)
        return x > 20.0f ? x : log1pf(expf(x));
    case 8:  // swish: sigmoid(x) * x
        return x / (1.0f + expf(-x));
    default:  // 0 linear
        return x;
    }
}

__device__ __forceinline__ float bias_act_load(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float bias_act_load(const __half* p, long long i)
{
    return __half2float(p[i]);
}
__device__ __forceinline__ void bias_act_store(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void bias_act_store(__half* p, long long i, float v)
{
    p[i] = __float2half_rn(v);
}

template <typename T>
__device__ __forceinline__ void bias_act_impl(const T* x, const T* b, T* y, long long n,
                                              int channels, long long inner, int act, float alpha,
                                              float gain, float clamp)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float v = bias_act_load(x, i);
        if (b != nullptr && channels > 0 && inner > 0) {
            const long long c = (i / inner) % channels;
            v += bias_act_load(b, c);
        }
        v = bias_act_activate(v, act, alpha);
        v *= gain;
        if (clamp >= 0.0f) {
            v = v > clamp ? clamp : (v < -clamp ? -clamp : v);
        }
        bias_act_store(y, i, v);
    }
}

extern "C" __global__ void bias_act_f32(const float* x, const float* b, float* y, long long n,
                                        int channels, long long inner, int act, float alpha,
                                        float gain, float clamp)
{
    bias_act_impl<float>(x, b, y, n, channels, inner, act, alpha, gain, clamp);
}

extern "C" __global__ void bias_act_f16(const __half* x, const __half* b, __half* y, long long n,
                                        int channels, long long inner, int act, float alpha,
                                        float gain, float clamp)
{
    bias_act_impl<__half>(x, b, y, n, channels, inner, act, alpha, gain, clamp);
}
