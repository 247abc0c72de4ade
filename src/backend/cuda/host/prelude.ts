/**
 * @module backend/cuda/host/prelude
 * The C++ that turns the cuda backend's kernel module into a host shared library:
 *
 * - `HOST_PRELUDE` (before the kernels): the CUDA keywords as C++ (`__global__` → nothing,
 *   `__shared__` → `static`, which is block-shared because blocks run one after another),
 *   threadIdx/blockIdx/blockDim/gridDim as globals the launcher sets, `atomicAdd` as a plain
 *   add (one thread runs at a time), `__int_as_float`, `rsqrtf`.
 * - `HOST_RUNTIME` (after the kernels and their trampolines): the launcher, which runs every
 *   thread of every block in order; a kernel declared `barrier` runs each block's threads as
 *   fibers (a register-and-stack switch on x86-64, ucontext elsewhere) that all switch out at
 *   `__syncthreads()` and resume together (a fiber
 *   finishing while others wait at a barrier is a divergent barrier: an error, as on a GPU it
 *   is undefined); memory with guard bytes; and a reference strided batched SGEMM with
 *   cuBLAS's column-major semantics and argument checks.
 *
 * Fresh allocations are filled with 0xFF bytes (NaN as float, -1 as int), so a kernel that reads
 * memory nothing wrote shows up as a wrong result rather than a lucky zero.
 */

export const HOST_PRELUDE = String.raw`
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

struct uint3 { unsigned x, y, z; };
// Globals with external linkage: the compiler must assume a fiber switch may change them.
extern "C" { uint3 h_threadIdx, h_blockIdx, h_blockDim, h_gridDim; int h_error; }
#define threadIdx h_threadIdx
#define blockIdx h_blockIdx
#define blockDim h_blockDim
#define gridDim h_gridDim
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__ __restrict

static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline float atomicAdd(float* p, float v) { float old = *p; *p = old + v; return old; }
static inline int atomicAdd(int* p, int v) { int old = *p; *p = old + v; return old; }
extern "C" void __syncthreads();

typedef void (*Trampoline)(void**);
struct Entry { const char* name; Trampoline fn; int barrier; };
`;

export const HOST_RUNTIME = String.raw`
enum { ERR_DIVERGENT_BARRIER = 1, ERR_UNDECLARED_BARRIER = 2, ERR_NO_MEMORY = 3, ERR_BAD_INDEX = 4 };

static const size_t FIBER_STACK = 64 * 1024;
static unsigned current = 0;
static int inFibers = 0;
static Trampoline currentFn = 0;
static void** currentParams = 0;

#if defined(__x86_64__)
// A fiber switch without syscalls (ucontext's swapcontext saves the signal mask with one per
// switch, which makes barrier kernels 100x slower): push the callee-saved registers, swap
// stack pointers, pop them. System V x86-64 only; other machines use ucontext below.
extern "C" void h_switch(void** save, void* load);
asm(R"(
  .text
  .globl h_switch
  .hidden h_switch
  .type h_switch, @function
h_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size h_switch, .-h_switch
)");
struct Fiber { void* sp; char* stack; int state; }; // state: 0 runnable, 1 at a barrier, 2 done
static void* schedulerSp = 0;
static void fiberMain();
static void fiberStart(Fiber& f) {
  uintptr_t top = ((uintptr_t)(f.stack + FIBER_STACK)) & ~(uintptr_t)15;
  void** sp = (void**)top;
  sp[-1] = 0;                    // fiberMain never returns
  sp[-2] = (void*)fiberMain;     // where h_switch's ret lands
  for (int i = 3; i <= 8; i++) sp[-i] = 0; // rbp rbx r12 r13 r14 r15
  f.sp = (void*)(sp - 8);
}
static void toFiber(Fiber& f) { h_switch(&schedulerSp, f.sp); }
static void toScheduler(Fiber& f) { h_switch(&f.sp, schedulerSp); }
#else
struct Fiber { ucontext_t ctx; char* stack; int state; };
static ucontext_t scheduler;
static void fiberMain();
static void fiberStart(Fiber& f) {
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = f.stack;
  f.ctx.uc_stack.ss_size = FIBER_STACK;
  f.ctx.uc_link = 0;
  makecontext(&f.ctx, fiberMain, 0);
}
static void toFiber(Fiber& f) { swapcontext(&scheduler, &f.ctx); }
static void toScheduler(Fiber& f) { swapcontext(&f.ctx, &scheduler); }
#endif

static Fiber* fibers = 0;
static unsigned fiberCapacity = 0;

extern "C" void __syncthreads() {
  if (!inFibers) { h_error = ERR_UNDECLARED_BARRIER; return; }
  asm volatile("" ::: "memory");
  fibers[current].state = 1;
  toScheduler(fibers[current]);
  asm volatile("" ::: "memory");
}

static void fiberMain() {
  currentFn(currentParams);
  fibers[current].state = 2;
  toScheduler(fibers[current]);
}

static void setThread(unsigned i) {
  h_threadIdx.x = i % h_blockDim.x;
  h_threadIdx.y = (i / h_blockDim.x) % h_blockDim.y;
  h_threadIdx.z = i / (h_blockDim.x * h_blockDim.y);
}

static int ensureFibers(unsigned n) {
  if (n <= fiberCapacity) return 0;
  Fiber* grown = (Fiber*)realloc(fibers, n * sizeof(Fiber));
  if (!grown) return ERR_NO_MEMORY;
  fibers = grown;
  for (unsigned i = fiberCapacity; i < n; i++) {
    fibers[i].stack = (char*)malloc(FIBER_STACK);
    if (!fibers[i].stack) return ERR_NO_MEMORY;
  }
  fiberCapacity = n;
  return 0;
}

static int runBlockAsFibers(const Entry& e, void** params, unsigned threads) {
  currentFn = e.fn;
  currentParams = params;
  for (unsigned i = 0; i < threads; i++) {
    fiberStart(fibers[i]);
    fibers[i].state = 0;
  }
  for (;;) {
    unsigned waiting = 0, done = 0;
    for (unsigned i = 0; i < threads; i++) {
      if (fibers[i].state == 2) continue;
      fibers[i].state = 0;
      current = i;
      setThread(i);
      toFiber(fibers[i]);
    }
    for (unsigned i = 0; i < threads; i++) {
      if (fibers[i].state == 1) waiting++;
      else if (fibers[i].state == 2) done++;
    }
    if (done == threads) return 0;
    if (done > 0 && waiting > 0) return ERR_DIVERGENT_BARRIER;
  }
}

extern "C" int hostKernelCount() { return (int)(sizeof(ENTRIES) / sizeof(ENTRIES[0])); }
extern "C" const char* hostKernelName(int i) { return ENTRIES[i].name; }

extern "C" int hostLaunch(int index, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, void** params) {
  if (index < 0 || index >= hostKernelCount()) return ERR_BAD_INDEX;
  const Entry& e = ENTRIES[index];
  h_gridDim.x = gx; h_gridDim.y = gy; h_gridDim.z = gz;
  h_blockDim.x = bx; h_blockDim.y = by; h_blockDim.z = bz;
  h_error = 0;
  unsigned threads = bx * by * bz;
  if (e.barrier) {
    int rc = ensureFibers(threads);
    if (rc) return rc;
  }
  for (unsigned z = 0; z < gz; z++) for (unsigned y = 0; y < gy; y++) for (unsigned x = 0; x < gx; x++) {
    h_blockIdx.x = x; h_blockIdx.y = y; h_blockIdx.z = z;
    if (e.barrier) {
      inFibers = 1;
      int rc = runBlockAsFibers(e, params, threads);
      inFibers = 0;
      if (rc) return rc;
    } else {
      for (unsigned i = 0; i < threads; i++) {
        setThread(i);
        e.fn(params);
      }
    }
    if (h_error) return h_error;
  }
  return 0;
}

// Memory: GUARD bytes of a known pattern on both sides of every allocation.
static const size_t GUARD = 64;
static const unsigned char GUARD_BYTE = 0xA5;

extern "C" uint64_t hostAlloc(size_t bytes) {
  unsigned char* p = (unsigned char*)malloc(bytes + 2 * GUARD);
  if (!p) return 0;
  memset(p, GUARD_BYTE, GUARD);
  memset(p + GUARD, 0xFF, bytes);
  memset(p + GUARD + bytes, GUARD_BYTE, GUARD);
  return (uint64_t)(uintptr_t)(p + GUARD);
}

/** 0: intact; 1: bytes before the allocation were written; 2: bytes after it. */
extern "C" int hostCheckGuards(uint64_t ptr, size_t bytes) {
  const unsigned char* p = (const unsigned char*)(uintptr_t)ptr;
  for (size_t i = 0; i < GUARD; i++) if (p[-(long)GUARD + (long)i] != GUARD_BYTE) return 1;
  for (size_t i = 0; i < GUARD; i++) if (p[bytes + i] != GUARD_BYTE) return 2;
  return 0;
}

extern "C" void hostFree(uint64_t ptr) { free((unsigned char*)(uintptr_t)ptr - GUARD); }
extern "C" void hostUpload(uint64_t dst, const void* src, size_t bytes) { memcpy((void*)(uintptr_t)dst, src, bytes); }
extern "C" void hostDownload(void* dst, uint64_t src, size_t bytes) { memcpy(dst, (const void*)(uintptr_t)src, bytes); }
extern "C" void hostCopy(uint64_t dst, uint64_t src, size_t bytes) { memmove((void*)(uintptr_t)dst, (const void*)(uintptr_t)src, bytes); }
extern "C" void hostFill32(uint64_t dst, uint32_t bits, size_t count) {
  uint32_t* p = (uint32_t*)(uintptr_t)dst;
  for (size_t i = 0; i < count; i++) p[i] = bits;
}

// cuBLAS's cublasSgemmStridedBatched, column-major, with its argument checks
// (CUBLAS_STATUS_INVALID_VALUE = 7). Accumulates in float, like cuBLAS's fp32 path.
extern "C" int hostSgemmStridedBatched(int transA, int transB, int m, int n, int k, float alpha,
    uint64_t a, int lda, long long strideA, uint64_t b, int ldb, long long strideB, float beta,
    uint64_t c, int ldc, long long strideC, int batch) {
  if (m < 0 || n < 0 || k < 0 || batch < 0) return 7;
  int needA = transA ? k : m, needB = transB ? n : k;
  if (lda < (needA > 1 ? needA : 1) || ldb < (needB > 1 ? needB : 1) || ldc < (m > 1 ? m : 1)) return 7;
  const float* A0 = (const float*)(uintptr_t)a;
  const float* B0 = (const float*)(uintptr_t)b;
  float* C0 = (float*)(uintptr_t)c;
  for (int p = 0; p < batch; p++) {
    const float* A = A0 + p * strideA;
    const float* B = B0 + p * strideB;
    float* C = C0 + p * strideC;
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < m; i++) {
        float acc = 0.0f;
        for (int l = 0; l < k; l++) {
          float x = transA ? A[l + (long long)i * lda] : A[i + (long long)l * lda];
          float y = transB ? B[j + (long long)l * ldb] : B[l + (long long)j * ldb];
          acc += x * y;
        }
        float* out = C + i + (long long)j * ldc;
        *out = beta == 0.0f ? alpha * acc : alpha * acc + beta * *out;
      }
    }
  }
  return 0;
}
`;
