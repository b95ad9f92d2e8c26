// The one bridge between JavaScript and Eddy's kernels. Every entry point is
// named JS_*; it checks what it receives (TypeScript validated it already,
// this is the second line of defence so bad input never crashes the
// process), copies pointers and sizes into a plain struct, and calls a
// kernel that knows nothing of N-API. Async entry points run the same
// struct on a libuv worker thread while holding references to the arrays.
#include <napi.h>

#include <cblas.h>

#include <cstdint>
#include <exception>
#include <string>
#include <thread>

#include "gemm.h"
#include "parallel.h"

namespace {

struct FloatView {
  float* data = nullptr;
  size_t length = 0;
};

FloatView ArgFloat32Array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected Float32Array for ") + name);
  }
  auto arr = v.As<Napi::Float32Array>();
  return {arr.Data(), arr.ElementLength()};
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("Expected integer for ") + name);
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(min) ||
      d > static_cast<double>(max)) {
    throw Napi::RangeError::New(info.Env(), std::string("Expected integer in range for ") + name);
  }
  return static_cast<int64_t>(d);
}

float ArgFloat(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("Expected number for ") + name);
  return info[i].As<Napi::Number>().FloatValue();
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string("Expected boolean for ") + name);
  return info[i].As<Napi::Boolean>().Value();
}

constexpr int64_t kMaxDim = INT32_MAX;

// ---------------------------------------------------------------- gemm

struct GemmArgs {
  bool trans_a, trans_b;
  int m, n, k;
  float alpha, beta;
  const float *a, *b;
  float* c;
  int lda, ldb, ldc;
};

// Checks that a row-major (rows x cols) operand with leading dimension ld,
// starting at offset, lies inside an array of the given length.
void CheckOperand(Napi::Env env, const char* name, const FloatView& v, int64_t offset, int64_t rows, int64_t cols,
                  int64_t ld) {
  if (rows == 0 || cols == 0) return;
  if (ld < cols) throw Napi::RangeError::New(env, std::string("Leading dimension too small for ") + name);
  int64_t last = offset + (rows - 1) * ld + cols - 1;
  if (last >= static_cast<int64_t>(v.length)) {
    throw Napi::RangeError::New(env, std::string("Operand out of bounds for ") + name);
  }
}

// (transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)
GemmArgs ParseGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 16) throw Napi::TypeError::New(env, "gemm expects 16 arguments");
  GemmArgs g;
  g.trans_a = ArgBool(info, 0, "transA");
  g.trans_b = ArgBool(info, 1, "transB");
  g.m = static_cast<int>(ArgInt(info, 2, "m", 0, kMaxDim));
  g.n = static_cast<int>(ArgInt(info, 3, "n", 0, kMaxDim));
  g.k = static_cast<int>(ArgInt(info, 4, "k", 0, kMaxDim));
  g.alpha = ArgFloat(info, 5, "alpha");
  FloatView a = ArgFloat32Array(info, 6, "a");
  int64_t a_off = ArgInt(info, 7, "aOffset", 0, INT64_MAX / 4);
  g.lda = static_cast<int>(ArgInt(info, 8, "lda", 1, kMaxDim));
  FloatView b = ArgFloat32Array(info, 9, "b");
  int64_t b_off = ArgInt(info, 10, "bOffset", 0, INT64_MAX / 4);
  g.ldb = static_cast<int>(ArgInt(info, 11, "ldb", 1, kMaxDim));
  g.beta = ArgFloat(info, 12, "beta");
  FloatView c = ArgFloat32Array(info, 13, "c");
  int64_t c_off = ArgInt(info, 14, "cOffset", 0, INT64_MAX / 4);
  g.ldc = static_cast<int>(ArgInt(info, 15, "ldc", 1, kMaxDim));
  // Stored shapes: A is (m, k) or (k, m) when transposed; likewise B.
  CheckOperand(env, "a", a, a_off, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda);
  CheckOperand(env, "b", b, b_off, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb);
  CheckOperand(env, "c", c, c_off, g.m, g.n, g.ldc);
  g.a = a.data + a_off;
  g.b = b.data + b_off;
  g.c = c.data + c_off;
  return g;
}

void RunGemm(const GemmArgs& g) {
  eddy::gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc);
}

Napi::Value JS_gemm(const Napi::CallbackInfo& info) {
  RunGemm(ParseGemm(info));
  return info.Env().Undefined();
}

// Runs a job on a libuv worker thread and settles a Promise. The typed
// arrays passed in stay referenced until then, so the kernel reads and
// writes them in place without copying.
template <typename Job>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, Job job, const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(env, "eddy"), job_(job), deferred_(Napi::Promise::Deferred::New(env)) {
    for (size_t i = 0; i < info.Length(); ++i) {
      if (info[i].IsTypedArray()) refs_.push_back(Napi::Persistent(info[i].As<Napi::Object>()));
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      job_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Job job_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
};

template <typename Job>
Napi::Value Queue(const Napi::CallbackInfo& info, Job job) {
  auto* worker = new PromiseWorker<Job>(info.Env(), job, info);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value JS_gemmAsync(const Napi::CallbackInfo& info) {
  GemmArgs g = ParseGemm(info);
  return Queue(info, [g] { RunGemm(g); });
}

// ---------------------------------------------------------------- runtime

Napi::Value JS_setNumThreads(const Napi::CallbackInfo& info) {
  eddy::set_num_threads(static_cast<int>(ArgInt(info, 0, "n", 1, 1024)));
  return info.Env().Undefined();
}

Napi::Value JS_getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), eddy::num_threads());
}

Napi::Value JS_runtimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blasConfig", Napi::String::New(env, openblas_get_config()));
  o.Set("blasCore", Napi::String::New(env, openblas_get_corename()));
  o.Set("hardwareThreads", Napi::Number::New(env, std::thread::hardware_concurrency()));
#if defined(__x86_64__)
  __builtin_cpu_init();
  o.Set("avx2", Napi::Boolean::New(env, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")));
#else
  o.Set("avx2", Napi::Boolean::New(env, false));
#endif
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  unsigned hw = std::thread::hardware_concurrency();
  eddy::set_num_threads(hw == 0 ? 1 : static_cast<int>(hw));
  exports.Set("gemm", Napi::Function::New(env, JS_gemm, "gemm"));
  exports.Set("gemmAsync", Napi::Function::New(env, JS_gemmAsync, "gemmAsync"));
  exports.Set("setNumThreads", Napi::Function::New(env, JS_setNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, JS_getNumThreads, "getNumThreads"));
  exports.Set("runtimeInfo", Napi::Function::New(env, JS_runtimeInfo, "runtimeInfo"));
  return exports;
}

}  // namespace

NODE_API_MODULE(eddy, Init)
