// Kernels that test the CPU emulation itself (tests/unit/kernels/test_cuda_emulated.py): fp16
// conversions, __shared__ + __syncthreads, extern __shared__, atomics, and faults it must catch.

#include <cuda_fp16.h>

extern "C" __global__ void float_to_half(const float* x, __half* y, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        y[i] = __float2half_rn(x[i]);
}

extern "C" __global__ void half_to_float(const __half* x, float* y, long long n)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        y[i] = __half2float(x[i]);
}

// y[block] = sum of x over the block's blockDim.x elements (tree reduction in static shared).
extern "C" __global__ __launch_bounds__(256) void block_sum(const float* x, float* y)
{
    __shared__ float partial[256];
    const int t = threadIdx.x;
    partial[t] = x[blockIdx.x * blockDim.x + t];
    __syncthreads();
    for (int step = blockDim.x / 2; step > 0; step /= 2) {
        if (t < step) partial[t] += partial[t + step];
        __syncthreads();
    }
    if (t == 0) y[blockIdx.x] = partial[0];
}

// Each block reverses its chunk of blockDim.x floats through dynamic shared memory; the 2-D
// block index checks threadIdx.y and blockIdx.y too.
extern "C" __global__ void reverse_chunks(const float* x, float* y)
{
    extern __shared__ float chunk[];
    const int threads = blockDim.x * blockDim.y;
    const int t = threadIdx.y * blockDim.x + threadIdx.x;
    const long long base = (long long)(blockIdx.y * gridDim.x + blockIdx.x) * threads;
    chunk[t] = x[base + t];
    __syncthreads();
    y[base + t] = chunk[threads - 1 - t];
}

// reverse_chunks without the barrier: the result depends on which threads ran first.
extern "C" __global__ void reverse_chunks_racy(const float* x, float* y)
{
    extern __shared__ float chunk[];
    const int t = threadIdx.x;
    chunk[t] = x[blockIdx.x * blockDim.x + t];
    y[blockIdx.x * blockDim.x + t] = chunk[blockDim.x - 1 - t];
}

// Reads shared memory nobody wrote (the emulator poisons it with NaN).
extern "C" __global__ void read_unwritten_shared(float* y)
{
    extern __shared__ float scratch[];
    y[threadIdx.x] = scratch[threadIdx.x];
}

extern "C" __global__ void count_atomically(int* counter, float* total)
{
    atomicAdd(counter, 1);
    atomicAdd(total, 0.5f);
}

// Faults the emulator must report.
extern "C" __global__ void divergent_sync(float* y)
{
    if (threadIdx.x == 0) __syncthreads();
    y[threadIdx.x] = 1.0f;
}

extern "C" __global__ void shared_overrun(float* y, int n)
{
    extern __shared__ float buf[];
    buf[threadIdx.x + n] = 1.0f;  // n = floats in the buffer: every thread writes past it
    y[threadIdx.x] = 0.0f;
}
