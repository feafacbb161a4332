// cuda_emu.h: run CUDA C++ kernels on the CPU for tests (tests/cuda_emu/README.md).
//
// Force-included (g++ -include cuda_emu.h) before a kernels/csrc/*.cu file. Execution model:
// the blocks of a launch run one after another; the threads of one block run concurrently as
// std::threads (created once per launch, each looping over the blocks), so __syncthreads is a
// real barrier and __shared__ (a function-local static) is shared by the block's threads and
// reused by the next block, as on a GPU. One `extern __shared__` array per kernel is rewritten
// by harness.py into a pointer to the launch's dynamic shared buffer (poisoned with 0xFF bytes,
// float NaN, at every block start, with guard bytes checked after the launch).
//
// harness.py can also run a block's threads one at a time in two orders and compare (see
// `Schedule`). Checked at run time: __syncthreads reached a different number of times by the threads of a
// block (divergent barrier), dynamic shared memory overrun, launch limits (block <= 1024
// threads, grid y/z <= 65535, dynamic shared <= the launch's limit).
// Not supported (compile error when used): warp intrinsics (__shfl*_sync, __ballot_sync,
// __any_sync, __all_sync, __activemask, __syncwarp), textures, cooperative groups.
// Atomics on int / unsigned / unsigned long long / float are emulated with std::atomic_ref.

#pragma once

#if __cplusplus < 202002L
#error "cuda_emu.h needs C++20 (g++ -std=c++20)"
#endif

#include <math.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Qualifiers

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static
#define __constant__ static
#define __align__(n) alignas(n)

// ---------------------------------------------------------------------------------------------
// Built-in variables

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1)
        : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;

inline thread_local dim3 threadIdx(0, 0, 0);
inline thread_local dim3 blockIdx(0, 0, 0);
inline thread_local dim3 blockDim(0, 0, 0);
inline thread_local dim3 gridDim(0, 0, 0);

// ---------------------------------------------------------------------------------------------
// Runtime: barrier, launch

namespace cuda_emu {

struct KernelError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A reusable barrier whose participant count can drop (a thread that left the kernel body no
// longer holds the others at a __syncthreads) and be reset between blocks.
class Barrier {
public:
    explicit Barrier(int n) : expected_(n), waiting_(n) {}

    void arrive_and_wait(const std::function<void()>& on_complete = {})
    {
        std::unique_lock<std::mutex> lock(mutex_);
        const long long gen = generation_;
        if (--waiting_ == 0) {
            complete(on_complete);
            return;
        }
        cv_.wait(lock, [&] { return generation_ != gen; });
    }

    void arrive_and_drop()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        --expected_;
        if (--waiting_ == 0) complete({});
    }

    void reset(int n)  // only while no thread waits
    {
        std::unique_lock<std::mutex> lock(mutex_);
        expected_ = waiting_ = n;
    }

private:
    void complete(const std::function<void()>& on_complete)
    {
        if (on_complete) on_complete();
        waiting_ = expected_;
        ++generation_;
        cv_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    int expected_, waiting_;
    long long generation_ = 0;
};

constexpr unsigned char kSharedPoison = 0xFF;  // float NaN, __half NaN
constexpr size_t kSharedGuard = 4096;  // guard bytes before and after the dynamic shared buffer

// How the threads of a block run. Concurrent: all at once (std::thread scheduling). Forward /
// reverse: one at a time in rank order (or the reverse), each until its next __syncthreads or
// the end of the kernel, so a result that depends on the order shows a missing barrier.
enum Schedule { kConcurrent = 0, kForward = 1, kReverse = 2 };

struct Launch {
    dim3 grid, block;
    int threads = 0;
    int schedule = kConcurrent;
    std::vector<int> order, position;  // serial schedules: ranks in run order, rank -> index
    std::vector<char> active;          // serial: still inside the kernel body in this block
    std::vector<std::unique_ptr<std::binary_semaphore>> turn;  // serial: released = may run
    Barrier sync{1};   // __syncthreads
    Barrier block_end{1};  // all threads done with a block
    std::vector<long long> sync_counts;  // per thread, this block
    std::vector<unsigned char> shared;   // guard, dynamic shared memory, guard
    size_t shared_bytes = 0;
    std::mutex error_mutex;
    std::string error;
    std::atomic<bool> failed{false};

    void fail(const std::string& message)
    {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (error.empty()) error = message;
        failed = true;
    }
};

inline thread_local Launch* current = nullptr;
inline thread_local int thread_rank = 0;

// Serial schedules: hand the run token to the next thread (in order, cyclically) still inside
// the kernel; a thread waiting at a barrier runs again once every other thread reached it too.
inline void pass_turn(Launch& launch, int rank)
{
    for (int step = 1; step <= launch.threads; ++step) {
        const int next = launch.order[(launch.position[rank] + step) % launch.threads];
        if (launch.active[next]) {
            launch.turn[next]->release();
            return;
        }
    }
}

inline void syncthreads()
{
    if (current == nullptr) throw KernelError("__syncthreads() called outside a kernel launch");
    current->sync_counts[thread_rank] += 1;
    if (current->schedule == kConcurrent) {
        current->sync.arrive_and_wait();
    } else {
        pass_turn(*current, thread_rank);
        current->turn[thread_rank]->acquire();
    }
}

inline void start_serial_block(Launch& launch)
{
    std::fill(launch.active.begin(), launch.active.end(), 1);
    launch.turn[launch.order[0]]->release();
}

inline void* dynamic_shared()
{
    if (current == nullptr) throw KernelError("extern __shared__ used outside a kernel launch");
    return current->shared.data() + kSharedGuard;
}

inline void poison_shared(Launch& launch)
{
    std::memset(launch.shared.data(), kSharedPoison, launch.shared.size());
}

// Runs at the end of every block, by the last thread to arrive, before the next block starts.
inline void finish_block(Launch& launch)
{
    const long long first = launch.sync_counts[0];
    for (int t = 1; t < launch.threads; ++t) {
        if (launch.sync_counts[t] != first) {
            launch.fail("divergent __syncthreads in block (" + std::to_string(blockIdx.x) + "," +
                        std::to_string(blockIdx.y) + "," + std::to_string(blockIdx.z) +
                        "): thread 0 reached it " + std::to_string(first) + " times, thread " +
                        std::to_string(t) + " " + std::to_string(launch.sync_counts[t]) +
                        " times");
            break;
        }
    }
    for (size_t i = 0; i < launch.shared.size(); ++i) {
        if (i == kSharedGuard) i += launch.shared_bytes;  // skip the buffer itself
        if (launch.shared[i] != kSharedPoison) {
            launch.fail("write outside dynamic shared memory (" +
                        std::to_string(launch.shared_bytes) + " bytes) at byte offset " +
                        std::to_string((long long)i - (long long)kSharedGuard));
            break;
        }
    }
    std::fill(launch.sync_counts.begin(), launch.sync_counts.end(), 0);
    launch.sync.reset(launch.threads);
    poison_shared(launch);
    if (launch.schedule != kConcurrent) start_serial_block(launch);
}

inline void run_thread(Launch& launch, int rank, const std::function<void()>& body)
{
    current = &launch;
    thread_rank = rank;
    blockDim = launch.block;
    gridDim = launch.grid;
    threadIdx = dim3(rank % launch.block.x, (rank / launch.block.x) % launch.block.y,
                     rank / (launch.block.x * launch.block.y));
    for (unsigned bz = 0; bz < launch.grid.z; ++bz) {
        for (unsigned by = 0; by < launch.grid.y; ++by) {
            for (unsigned bx = 0; bx < launch.grid.x; ++bx) {
                blockIdx = dim3(bx, by, bz);
                const bool serial = launch.schedule != kConcurrent;
                if (serial) launch.turn[rank]->acquire();
                if (!launch.failed) {
                    try {
                        body();
                    } catch (const std::exception& e) {
                        launch.fail(e.what());
                    }
                }
                if (serial) {
                    launch.active[rank] = 0;
                    pass_turn(launch, rank);
                } else {
                    launch.sync.arrive_and_drop();
                }
                launch.block_end.arrive_and_wait([&] { finish_block(launch); });
            }
        }
    }
    current = nullptr;
}

// Launch `body` (a call of the kernel) on grid x block; returns 0, or 1 with a message in err.
inline int launch(dim3 grid, dim3 block, size_t shared_bytes, size_t max_shared_bytes,
                  int schedule, char* err, int err_len, const std::function<void()>& body)
{
    auto report = [&](const std::string& message) {
        std::snprintf(err, (size_t)err_len, "%s", message.c_str());
        return 1;
    };
    const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.z > 64)
        return report("invalid block size " + std::to_string(block.x) + "x" +
                      std::to_string(block.y) + "x" + std::to_string(block.z) +
                      " (1 to 1024 threads, z <= 64)");
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 ||
        grid.z > 65535)
        return report("invalid grid size " + std::to_string(grid.x) + "x" +
                      std::to_string(grid.y) + "x" + std::to_string(grid.z));
    if (shared_bytes > max_shared_bytes)
        return report("dynamic shared memory " + std::to_string(shared_bytes) +
                      " bytes is over the launch limit " + std::to_string(max_shared_bytes));
    Launch launch;
    launch.grid = grid;
    launch.block = block;
    launch.threads = (int)threads;
    launch.sync.reset(launch.threads);
    launch.block_end.reset(launch.threads);
    launch.sync_counts.assign(threads, 0);
    launch.shared_bytes = shared_bytes;
    launch.shared.resize(shared_bytes + 2 * kSharedGuard);
    poison_shared(launch);
    launch.schedule = schedule;
    if (schedule != kConcurrent) {
        for (int rank = 0; rank < launch.threads; ++rank) {
            launch.order.push_back(schedule == kReverse ? launch.threads - 1 - rank : rank);
            launch.turn.push_back(std::make_unique<std::binary_semaphore>(0));
        }
        launch.position.resize(threads);
        for (int i = 0; i < launch.threads; ++i) launch.position[launch.order[i]] = i;
        launch.active.assign(threads, 1);
        start_serial_block(launch);
    }
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int rank = 0; rank < launch.threads; ++rank)
        pool.emplace_back(run_thread, std::ref(launch), rank, std::cref(body));
    for (auto& t : pool) t.join();
    return launch.failed ? report(launch.error) : 0;
}

template <typename... A>
constexpr bool unsupported = false;

}  // namespace cuda_emu

#define __syncthreads() ::cuda_emu::syncthreads()
#define __trap() throw ::cuda_emu::KernelError("__trap() called")
#define __threadfence() std::atomic_thread_fence(std::memory_order_seq_cst)
#define __threadfence_block() std::atomic_thread_fence(std::memory_order_seq_cst)

// ---------------------------------------------------------------------------------------------
// Unsupported: warp-synchronous code has no meaning with one std::thread per CUDA thread.

#define CUDA_EMU_UNSUPPORTED(name)                                                            \
    template <typename... A>                                                                  \
    inline unsigned name(A...)                                                                \
    {                                                                                         \
        static_assert(::cuda_emu::unsupported<A...>,                                          \
                      "cuda_emu: " #name " (warp intrinsic) is not supported on the CPU");    \
        return 0;                                                                             \
    }
CUDA_EMU_UNSUPPORTED(__shfl_sync)
CUDA_EMU_UNSUPPORTED(__shfl_up_sync)
CUDA_EMU_UNSUPPORTED(__shfl_down_sync)
CUDA_EMU_UNSUPPORTED(__shfl_xor_sync)
CUDA_EMU_UNSUPPORTED(__ballot_sync)
CUDA_EMU_UNSUPPORTED(__any_sync)
CUDA_EMU_UNSUPPORTED(__all_sync)
CUDA_EMU_UNSUPPORTED(__match_any_sync)
CUDA_EMU_UNSUPPORTED(__activemask)
CUDA_EMU_UNSUPPORTED(__syncwarp)
#undef CUDA_EMU_UNSUPPORTED
namespace cuda_emu {
template <typename T = void>
constexpr int warp_size_unsupported()
{
    static_assert(unsupported<T>, "cuda_emu: warpSize is not supported on the CPU");
    return 32;
}
}  // namespace cuda_emu
#define warpSize (::cuda_emu::warp_size_unsupported())

// ---------------------------------------------------------------------------------------------
// Atomics (device-wide; emulated with std::atomic_ref)

template <typename T>
inline T atomicAdd(T* p, T v) { return std::atomic_ref<T>(*p).fetch_add(v); }
template <typename T>
inline T atomicSub(T* p, T v) { return std::atomic_ref<T>(*p).fetch_sub(v); }
template <typename T>
inline T atomicExch(T* p, T v) { return std::atomic_ref<T>(*p).exchange(v); }
template <typename T>
inline T atomicCAS(T* p, T expected, T desired)
{
    std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired);
    return expected;
}
template <typename T>
inline T atomicMax(T* p, T v)
{
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old < v && !a.compare_exchange_weak(old, v)) {}
    return old;
}
template <typename T>
inline T atomicMin(T* p, T v)
{
    std::atomic_ref<T> a(*p);
    T old = a.load();
    while (old > v && !a.compare_exchange_weak(old, v)) {}
    return old;
}

// ---------------------------------------------------------------------------------------------
// Math: the C float functions come from <math.h>; CUDA's extra overloads and intrinsics here.

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float exp10f(float x) { return powf(10.0f, x); }
inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)floorf(x); }
inline int __float2int_ru(float x) { return (int)ceilf(x); }
inline float __int2float_rn(int x) { return (float)x; }
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
inline unsigned int __float_as_uint(float x) { unsigned u; std::memcpy(&u, &x, 4); return u; }
inline float __uint_as_float(unsigned u) { float x; std::memcpy(&x, &u, 4); return x; }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __mul24(int a, int b) { return a * b; }
inline unsigned int __umul24(unsigned a, unsigned b) { return a * b; }

template <typename T>
inline T __ldg(const T* p) { return *p; }
