// The one bridge between JavaScript and Eddy's kernels. Every entry point is
// named JS_*; it checks what it receives (TypeScript validated it already,
// this is the second line of defence so bad input never crashes the
// process), copies pointers and sizes into a plain struct, and calls a
// kernel that knows nothing of N-API. Async entry points run the same
// struct on a libuv worker thread while holding references to the arrays.
// A failed allocation anywhere (copying inputs, a kernel's scratch space, a
// pool task, OpenBLAS's buffers) ends the call with a ResourceError, thrown
// or as the Promise's rejection; nothing aborts the process.
#include <napi.h>


#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <list>
#include <map>
#include <new>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "activations.h"
#include "attention.h"
#include "attention_sdpa.h"
#include "blas.h"
#include "distributed.h"
#include "gemm.h"
#include "heap.h"
#include "isa.h"
#include "packed_gemm.h"
#include "optimizers.h"
#include "parallel.h"
#include "recurrent.h"
#include "linear_rows.h"
#include "recurrent_step.h"
#include "softmax_xent.h"
#include "embedding.h"
#include "grad_norm.h"
#include "weight_grad.h"

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

// ---------------------------------------------------------------- errors

// Error classes of lib/errors.ts, registered once per environment (main
// thread or worker) by lib/native.ts, so native code throws the same
// classes TypeScript does.
struct ErrorClasses {
  Napi::FunctionReference resource;
};

// { resource }: the ResourceError class.
Napi::Value JS_setErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Expected an object of error classes");
  Napi::Value resource = info[0].As<Napi::Object>().Get("resource");
  if (!resource.IsFunction()) throw Napi::TypeError::New(env, "Expected a class for resource");
  env.SetInstanceData(new ErrorClasses{Napi::Persistent(resource.As<Napi::Function>())});
  return env.Undefined();
}

// What a failed allocation was: ResourceExhausted says which resource;
// a plain std::bad_alloc is memory. Both strings are literals, so this is
// safe to keep from a worker thread until the main thread reports it.
const char* ResourceDetail(const std::bad_alloc& e) {
  auto* exhausted = dynamic_cast<const eddy::ResourceExhausted*>(&e);
  return exhausted ? exhausted->what() : nullptr;
}

// A ResourceError (ERR_EDDY_RESOURCE) saying what ran out during `op`.
Napi::Error ResourceError(Napi::Env env, const char* op, const char* detail) {
  const std::string message = detail ? std::string("Not enough resources for ") + op + ": " + detail
                                     : std::string("Not enough memory for ") + op;
  ErrorClasses* classes = env.GetInstanceData<ErrorClasses>();
  if (classes && !classes->resource.IsEmpty()) {
    return Napi::Error(env, classes->resource.New({Napi::String::New(env, message)}));
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_EDDY_RESOURCE"));
  return e;
}

// Every entry point runs inside this: a failed allocation on the main
// thread (copying an async call's inputs, reading arguments, a sync
// kernel's scratch space) becomes a ResourceError. node-addon-api would
// otherwise let std::bad_alloc escape and terminate the process.
template <typename Entry>
Napi::Function Guarded(Napi::Env env, const char* name, const char* op, Entry entry) {
  return Napi::Function::New(
      env,
      [op, entry](const Napi::CallbackInfo& info) -> Napi::Value {
        try {
          return entry(info);
        } catch (const std::bad_alloc& e) {
          throw ResourceError(info.Env(), op, ResourceDetail(e));
        }
      },
      name);
}

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

constexpr const char* kGemmOp = "a matrix product";

void RunGemm(const GemmArgs& g) {
  eddy::gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc);
}

Napi::Value JS_gemm(const Napi::CallbackInfo& info) {
  RunGemm(ParseGemm(info));
  return info.Env().Undefined();
}

// Typed arrays a queued job reads or writes: referenced until the job ends
// so the garbage collector cannot free them under the kernel.
using KeepAlive = std::vector<Napi::ObjectReference>;

void KeepArgs(const Napi::CallbackInfo& info, KeepAlive& keep) {
  for (size_t i = 0; i < info.Length(); ++i) {
    if (info[i].IsTypedArray()) keep.push_back(Napi::Persistent(info[i].As<Napi::Object>()));
  }
}

// Runs a job on a libuv worker thread and settles a Promise. The typed
// arrays it uses stay referenced until then, so the kernel reads and
// writes them in place without copying.
template <typename Job>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* op, Job job, KeepAlive keep)
      : Napi::AsyncWorker(env, "eddy"),
        op_(op),
        job_(job),
        deferred_(Napi::Promise::Deferred::New(env)),
        refs_(std::move(keep)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  // Nothing may escape: an exception leaving a libuv worker thread would
  // terminate the process. A failed allocation only records what failed
  // (the message is built on the main thread, where memory may be back).
  void Execute() override {
    try {
      job_();
    } catch (const std::bad_alloc& e) {
      resource_ = true;
      resource_detail_ = ResourceDetail(e);
      SetError("out of memory");  // short enough to need no allocation; OnError builds the real message
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("Unknown native exception");
    }
  }
  // When the environment is shutting down (a worker thread terminated while
  // the job ran) the Promise can no longer settle; that must not take the
  // process down.
  void OnOK() override {
    try {
      deferred_.Resolve(Env().Undefined());
    } catch (const Napi::Error&) {
    }
  }
  void OnError(const Napi::Error& e) override {
    try {
      deferred_.Reject(resource_ ? ResourceError(Env(), op_, resource_detail_).Value() : e.Value());
    } catch (const Napi::Error&) {
    }
  }

 private:
  const char* op_;
  bool resource_ = false;
  const char* resource_detail_ = nullptr;
  Job job_;
  Napi::Promise::Deferred deferred_;
  KeepAlive refs_;
};

// Queues `job` (what `op` names in error messages) on a libuv thread.
template <typename Job>
Napi::Value Queue(Napi::Env env, const char* op, Job job, KeepAlive keep) {
  auto* worker = new PromiseWorker<Job>(env, op, job, std::move(keep));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// Inputs of async jobs are copied into memory the job owns: a caller could
// otherwise transfer (detach) an input's ArrayBuffer while the kernel reads
// it. Outputs are arrays the TypeScript layer allocated for the call and
// hands out only when the job is done.
//
// Copies of 64 KiB and more are recycled: a training loop copies the same
// sizes (its weights, its batch) at every call, and a new block that large
// is mapped by the system page by page — a fault per 4 KiB, costly in a
// virtual machine: C3's weights are 9 k faults per copy — and unmapped
// again when the job ends. A finished job's copies wait in CopyPool for a
// later job that asks for the same size, up to kCopyPoolBytes in all
// (about what the async calls of one training step of a large model have
// in flight). A copy that does not fit evicts the longest-waiting ones, so
// sizes a program stopped using (other shapes, other models) leave the
// pool instead of filling it for good.
class CopyPool {
 public:
  static constexpr size_t kMinBytes = size_t{64} << 10;
  static constexpr size_t kCopyPoolBytes = size_t{256} << 20;

  std::unique_ptr<float[]> Take(size_t n) {
    if (n * sizeof(float) >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      // The most recently returned block of the size: the likeliest still in cache.
      for (auto it = free_.rbegin(); it != free_.rend(); ++it) {
        if (it->second != n) continue;
        std::unique_ptr<float[]> p = std::move(it->first);
        free_.erase(std::next(it).base());
        bytes_ -= n * sizeof(float);
        return p;
      }
    }
    return std::unique_ptr<float[]>(new float[n]);
  }

  void Give(std::unique_ptr<float[]> p, size_t n) {
    const size_t bytes = n * sizeof(float);
    if (bytes < kMinBytes || bytes > kCopyPoolBytes) return;
    std::list<std::pair<std::unique_ptr<float[]>, size_t>> evicted;  // freed after the lock is released
    std::lock_guard<std::mutex> lock(mu_);
    while (bytes_ + bytes > kCopyPoolBytes) {
      bytes_ -= free_.front().second * sizeof(float);
      evicted.splice(evicted.end(), free_, free_.begin());
    }
    bytes_ += bytes;
    free_.emplace_back(std::move(p), n);
  }

 private:
  std::mutex mu_;
  std::list<std::pair<std::unique_ptr<float[]>, size_t>> free_;  // oldest first; element counts
  size_t bytes_ = 0;
};

// Never destroyed: a job may finish on a worker thread while the process exits.
CopyPool& Copies() {
  static CopyPool* pool = new CopyPool();
  return *pool;
}

// The copies one async job owns, handed back to the pool when the job is done.
struct OwnedCopies {
  std::vector<std::pair<std::unique_ptr<float[]>, size_t>> blocks;
  ~OwnedCopies() {
    for (auto& [p, n] : blocks) Copies().Give(std::move(p), n);
  }
};
using Owned = std::shared_ptr<OwnedCopies>;

Owned NewOwned() { return std::make_shared<OwnedCopies>(); }

const float* OwnCopy(const Owned& store, const float* p, size_t n) {
  if (!p || n == 0) return nullptr;  // as an empty std::vector's data() was
  std::unique_ptr<float[]> copy = Copies().Take(n);
  std::memcpy(copy.get(), p, n * sizeof(float));
  store->blocks.emplace_back(std::move(copy), n);
  return store->blocks.back().first.get();
}

size_t OperandSpan(int rows, int cols, int ld) {
  return rows == 0 || cols == 0 ? 0 : static_cast<size_t>(rows - 1) * ld + cols;
}

Napi::Value JS_gemmAsync(const Napi::CallbackInfo& info) {
  GemmArgs g = ParseGemm(info);
  Owned own = NewOwned();
  g.a = OwnCopy(own, g.a, OperandSpan(g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda));
  g.b = OwnCopy(own, g.b, OperandSpan(g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb));
  KeepAlive keep;
  KeepArgs(info, keep);
  return Queue(info.Env(), kGemmOp, [g, own] { RunGemm(g); }, std::move(keep));
}

// ---------------------------------------------------------------- recurrent

// Reads named fields of an options object, checking types and sizes, and
// records every typed array it hands out in `keep`. All properties (and the
// elements of array properties) are read up front, so getters run before
// any data pointer is taken: nothing can detach or free a buffer between
// the checks and the kernel. A buffer detached by a getter fails the size
// check (its length reads 0).
class Fields {
 public:
  Fields(Napi::Object o, KeepAlive& keep) : env_(o.Env()), keep_(keep) {
    Napi::Array names = o.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string key = names.Get(i).ToString().Utf8Value();
      Napi::Value v = o.Get(key);
      values_.emplace(key, v);
      if (v.IsArray()) {
        auto arr = v.As<Napi::Array>();
        std::vector<Napi::Value> items;
        for (uint32_t j = 0; j < arr.Length() && j < kMaxListLength; ++j) items.push_back(arr.Get(j));
        lists_.emplace(key, std::move(items));
      }
    }
  }

  Napi::Env Env() const { return env_; }

  int64_t Int(const char* name, int64_t min, int64_t max) const {
    Napi::Value v = Get(name);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
    if (!v.IsNumber() || d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(min) ||
        d > static_cast<double>(max)) {
      throw Napi::RangeError::New(env_, std::string("Expected integer between ") + std::to_string(min) + " and " +
                                            std::to_string(max) + " for " + name);
    }
    return static_cast<int64_t>(d);
  }
  double Number(const char* name) const {
    Napi::Value v = Get(name);
    if (!v.IsNumber()) throw Napi::TypeError::New(env_, std::string("Expected number for ") + name);
    return v.As<Napi::Number>().DoubleValue();
  }
  bool Bool(const char* name) const {
    Napi::Value v = Get(name);
    if (!v.IsBoolean()) throw Napi::TypeError::New(env_, std::string("Expected boolean for ") + name);
    return v.As<Napi::Boolean>().Value();
  }
  // A Float32Array of exactly `size` elements, or null when allowed.
  float* Floats(const char* name, size_t size, bool nullable) const { return FloatsOf(Get(name), name, size, nullable); }

  const int32_t* Ints(const char* name, size_t size) const {
    Napi::Value v = Get(name);
    if (v.IsNull() || v.IsUndefined()) return nullptr;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        v.As<Napi::Int32Array>().ElementLength() != size) {
      throw Napi::TypeError::New(env_, std::string("Expected Int32Array of ") + std::to_string(size) + " elements for " + name);
    }
    keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    return v.As<Napi::Int32Array>().Data();
  }
  // An array with one Float32Array (or null) per (layer, direction).
  std::vector<float*> FloatList(const char* name, size_t count, const std::vector<size_t>& sizes, bool nullable) const {
    auto it = lists_.find(name);
    if (it == lists_.end() || it->second.size() != count || Get(name).As<Napi::Array>().Length() != count) {
      throw Napi::TypeError::New(env_, std::string("Expected an array of ") + std::to_string(count) + " for " + name);
    }
    std::vector<float*> out(count);
    for (size_t i = 0; i < count; ++i) {
      out[i] = FloatsOf(it->second[i], std::string(name) + "[" + std::to_string(i) + "]", sizes[i], nullable);
    }
    return out;
  }
  // The length of a Float32Array field.
  size_t Float32Length(const char* name) const {
    Napi::Value v = Get(name);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env_, std::string("Expected Float32Array for ") + name);
    }
    return v.As<Napi::Float32Array>().ElementLength();
  }
  // Whether a field is a Float64Array (the double-precision test path of some kernels).
  bool IsFloat64(const char* name) const {
    Napi::Value v = Get(name);
    return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
  }
  // A Float32Array (T = float) or Float64Array (T = double) of at least
  // `size` elements, or null when allowed: strided views check their own
  // extent against it.
  template <typename T>
  T* Span(const char* name, size_t size, bool nullable) const {
    Napi::Value v = Get(name);
    if (nullable && (v.IsNull() || v.IsUndefined())) return nullptr;
    constexpr napi_typedarray_type kType = sizeof(T) == 4 ? napi_float32_array : napi_float64_array;
    const char* type = sizeof(T) == 4 ? "Float32Array" : "Float64Array";
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType) {
      throw Napi::TypeError::New(env_, std::string("Expected ") + type + " for " + name);
    }
    auto a = v.As<Napi::TypedArrayOf<T>>();
    if (a.ElementLength() < size) {
      throw Napi::RangeError::New(env_, "Expected at least " + std::to_string(size) + " elements for " + name +
                                            " but received " + std::to_string(a.ElementLength()));
    }
    keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    return a.Data();
  }
  bool IsNullish(const char* name) const {
    Napi::Value v = Get(name);
    return v.IsNull() || v.IsUndefined();
  }
  Napi::Object Object(const char* name) const {
    Napi::Value v = Get(name);
    if (!v.IsObject()) throw Napi::TypeError::New(env_, std::string("Expected object for ") + name);
    return v.As<Napi::Object>();
  }

 private:
  static constexpr uint32_t kMaxListLength = 1 << 16;

  Napi::Value Get(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? env_.Undefined() : it->second;
  }

  float* FloatsOf(Napi::Value v, const std::string& name, size_t size, bool nullable) const {
    if (nullable && (v.IsNull() || v.IsUndefined())) return nullptr;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env_, "Expected Float32Array for " + name);
    }
    auto a = v.As<Napi::Float32Array>();
    if (a.ElementLength() != size) {
      throw Napi::RangeError::New(env_, "Expected " + std::to_string(size) + " elements for " + name + " but received " +
                                            std::to_string(a.ElementLength()));
    }
    keep_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    return a.Data();
  }

  Napi::Env env_;
  KeepAlive& keep_;
  std::map<std::string, Napi::Value> values_;
  std::map<std::string, std::vector<Napi::Value>> lists_;
};

eddy::RnnShape ParseRnnShape(const Fields& f) {
  eddy::RnnShape s;
  s.cell = static_cast<eddy::CellKind>(f.Int("cell", 0, 3));
  s.reset_after = f.Bool("resetAfter");
  s.layers = static_cast<int>(f.Int("layers", 1, 1024));
  s.dirs = static_cast<int>(f.Int("dirs", 1, 2));
  s.T = static_cast<int>(f.Int("T", 0, kMaxDim));
  s.B = static_cast<int>(f.Int("B", 0, kMaxDim));
  s.I = static_cast<int>(f.Int("I", 1, kMaxDim));
  s.H = static_cast<int>(f.Int("H", 1, kMaxDim));
  s.batch_first = f.Bool("batchFirst");
  s.rec_dropout = f.Bool("recurrentDropout");
  s.layer_norm = f.Bool("layerNorm");
  if (s.layer_norm && !(s.cell == eddy::CellKind::kLstm || (s.cell == eddy::CellKind::kGru && s.reset_after))) {
    throw Napi::RangeError::New(f.Env(), "layerNorm needs an LSTM or a GRU with resetAfter");
  }
  // Every buffer below is indexed with size_t; refuse shapes whose buffers
  // could not exist anyway.
  const double floats = static_cast<double>(s.T) * s.B * std::max(s.I, s.dirs * s.H) * 8.0 * s.layers;
  if (floats > 4e12) throw Napi::RangeError::New(f.Env(), "recurrent problem too large");
  return s;
}

// Floats of each (layer, direction)'s parameter of one kind.
std::vector<size_t> ParamSizes(const eddy::RnnShape& s, eddy::ParamSize size) {
  std::vector<size_t> sizes;
  for (int l = 0; l < s.layers; ++l) {
    for (int d = 0; d < s.dirs; ++d) sizes.push_back(s.param_size(size, l));
  }
  return sizes;
}

// Every parameter kind's list (values, or gradients when `grads`), as the
// table in recurrent.h declares them; kinds the shape does not have are
// lists of nulls. Biases and gradients are optional: their entries may be
// null and their lists may be left out.
template <typename List>
List ParamList(const Fields& f, const eddy::RnnShape& s, const eddy::ParamKind& kind, bool grads) {
  const size_t K = static_cast<size_t>(s.layers) * s.dirs;
  const char* key = grads ? kind.grad_key : kind.value_key;
  const bool nullable = grads || kind.presence == eddy::ParamPresence::kBias;
  if (!s.has(kind.presence) || (nullable && f.IsNullish(key))) return List(K, nullptr);
  const std::vector<float*> list = f.FloatList(key, K, ParamSizes(s, kind.size), nullable);
  return List(list.begin(), list.end());
}

eddy::RnnForward ParseRnnForward(Napi::Object o, KeepAlive& keep) {
  Fields f(o, keep);
  eddy::RnnForward a;
  a.split = eddy::split_request_from_env();
  a.s = ParseRnnShape(f);
  const eddy::RnnShape& s = a.s;
  const size_t K = static_cast<size_t>(s.layers) * s.dirs;
  for (const eddy::ParamKind& kind : eddy::kParamKinds) a.p.*kind.value = ParamList<std::vector<const float*>>(f, s, kind, false);
  const size_t TB = static_cast<size_t>(s.T) * s.B, state = K * s.B * s.H;
  const bool lstm = s.cell == eddy::CellKind::kLstm;
  a.x = f.Floats("x", TB * s.I, false);
  a.lengths = f.Ints("lengths", s.B);
  a.h0 = f.Floats("h0", state, true);
  a.c0 = lstm ? f.Floats("c0", state, true) : nullptr;
  a.rec_mask = s.rec_dropout ? f.Floats("recMask", state, false) : nullptr;
  a.dropout = static_cast<float>(f.Number("dropout"));
  if (!(a.dropout >= 0.0f && a.dropout < 1.0f)) throw Napi::RangeError::New(o.Env(), "Expected dropout in [0, 1)");
  a.seed = static_cast<uint64_t>(f.Int("seed", 0, (int64_t(1) << 53)));
  a.y = f.Floats("y", TB * s.dirs * s.H, false);
  a.hn = f.Floats("hn", state, false);
  a.cn = lstm ? f.Floats("cn", state, false) : nullptr;
  a.ws = f.IsNullish("ws") ? nullptr : f.Floats("ws", eddy::rnn_workspace_size(s, a.dropout), false);
  if (a.lengths) {
    for (int b = 0; b < s.B; ++b) {
      if (a.lengths[b] < 1 || a.lengths[b] > s.T) throw Napi::RangeError::New(o.Env(), "Expected lengths between 1 and T");
    }
  }
  return a;
}

eddy::RnnBackward ParseRnnBackward(Napi::Object o, KeepAlive& keep) {
  Fields f(o, keep);
  eddy::RnnBackward a;
  a.f = ParseRnnForward(f.Object("forward"), keep);
  const eddy::RnnShape& s = a.f.s;
  if (!a.f.ws) throw Napi::TypeError::New(o.Env(), "backward needs the forward workspace");
  const size_t K = static_cast<size_t>(s.layers) * s.dirs;
  const size_t TB = static_cast<size_t>(s.T) * s.B, state = K * s.B * s.H;
  const bool lstm = s.cell == eddy::CellKind::kLstm;
  a.dy = f.Floats("dy", TB * s.dirs * s.H, true);
  a.dhn = f.Floats("dhn", state, true);
  a.dcn = lstm ? f.Floats("dcn", state, true) : nullptr;
  a.dx = f.Floats("dx", TB * s.I, true);
  a.dh0 = f.Floats("dh0", state, true);
  a.dc0 = lstm ? f.Floats("dc0", state, true) : nullptr;
  for (const eddy::ParamKind& kind : eddy::kParamKinds) a.g.*kind.grad = ParamList<std::vector<float*>>(f, s, kind, true);
  return a;
}

Napi::Value JS_rnnWorkspaceSize(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "Expected shape object");
  Fields f(info[0].As<Napi::Object>(), keep);
  eddy::RnnShape s = ParseRnnShape(f);
  return Napi::Number::New(info.Env(), static_cast<double>(eddy::rnn_workspace_size(s, static_cast<float>(f.Number("dropout")))));
}

// Copies what the caller owns (inputs, weights, upstream gradients) for an async job.
void OwnInputs(eddy::RnnForward& a, const Owned& own) {
  const eddy::RnnShape& s = a.s;
  const size_t TB = static_cast<size_t>(s.T) * s.B, state = static_cast<size_t>(s.layers) * s.dirs * s.B * s.H;
  a.x = OwnCopy(own, a.x, TB * s.I);
  a.rec_mask = OwnCopy(own, a.rec_mask, state);
  a.h0 = OwnCopy(own, a.h0, state);
  a.c0 = OwnCopy(own, a.c0, state);
  for (const eddy::ParamKind& kind : eddy::kParamKinds) {
    std::vector<const float*>& list = a.p.*kind.value;
    for (size_t k = 0; k < list.size(); ++k) list[k] = OwnCopy(own, list[k], s.param_size(kind.size, static_cast<int>(k) / s.dirs));
  }
}

void OwnInputs(eddy::RnnBackward& a, const Owned& own) {
  OwnInputs(a.f, own);
  const eddy::RnnShape& s = a.f.s;
  const size_t state = static_cast<size_t>(s.layers) * s.dirs * s.B * s.H;
  a.dy = OwnCopy(own, a.dy, static_cast<size_t>(s.T) * s.B * s.dirs * s.H);
  a.dhn = OwnCopy(own, a.dhn, state);
  a.dcn = OwnCopy(own, a.dcn, state);
}

template <typename Args, typename Parse, typename Run>
Napi::Value RunSyncOrAsync(const Napi::CallbackInfo& info, const char* op, Parse parse, Run run, bool async) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "Expected an options object");
  KeepAlive keep;
  Args a = parse(info[0].As<Napi::Object>(), keep);
  if (!async) {
    run(a);
    return info.Env().Undefined();
  }
  Owned own = NewOwned();
  OwnInputs(a, own);
  return Queue(info.Env(), op, [a, run, own] { run(a); }, std::move(keep));
}

// [{ name, value, grad, size, presence }] for every parameter kind, in the table's order:
// lib/native.ts declares the same list for the type system, and a test
// checks that the two agree.
Napi::Value RnnParamKinds(Napi::Env env) {
  Napi::Array kinds = Napi::Array::New(env);
  uint32_t i = 0;
  for (const eddy::ParamKind& kind : eddy::kParamKinds) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, kind.name));
    o.Set("value", Napi::String::New(env, kind.value_key));
    o.Set("grad", Napi::String::New(env, kind.grad_key));
    static const char* const sizes[] = {"gatesByInput", "gatesByHidden", "gates", "hidden"};
    static const char* const presences[] = {"always", "bias", "layerNorm", "lstmLayerNorm"};
    o.Set("size", Napi::String::New(env, sizes[static_cast<int>(kind.size)]));
    o.Set("presence", Napi::String::New(env, presences[static_cast<int>(kind.presence)]));
    kinds.Set(i++, o);
  }
  return kinds;
}

constexpr const char* kRnnForwardOp = "the recurrent forward pass";
constexpr const char* kRnnBackwardOp = "the recurrent backward pass";

Napi::Value JS_rnnForward(const Napi::CallbackInfo& info) {
  return RunSyncOrAsync<eddy::RnnForward>(info, kRnnForwardOp, ParseRnnForward, eddy::rnn_forward, false);
}
Napi::Value JS_rnnForwardAsync(const Napi::CallbackInfo& info) {
  return RunSyncOrAsync<eddy::RnnForward>(info, kRnnForwardOp, ParseRnnForward, eddy::rnn_forward, true);
}
Napi::Value JS_rnnBackward(const Napi::CallbackInfo& info) {
  return RunSyncOrAsync<eddy::RnnBackward>(info, kRnnBackwardOp, ParseRnnBackward, eddy::rnn_backward, false);
}
Napi::Value JS_rnnBackwardAsync(const Napi::CallbackInfo& info) {
  return RunSyncOrAsync<eddy::RnnBackward>(info, kRnnBackwardOp, ParseRnnBackward, eddy::rnn_backward, true);
}

// ---------------------------------------------------------------- streaming step

const napi_type_tag kStepperTag = {0x6564647973746570ULL, 0x7265637572726e74ULL};
const napi_type_tag kLinearRowsTag = {0x6564647973746570ULL, 0x6c696e6561727277ULL};

// An object owned by JavaScript: deleted when the handle is collected, tagged so
// that only a handle of the same kind is accepted back.
template <typename T>
Napi::Value OwnedHandle(Napi::Env env, T* object, const napi_type_tag& tag) {
  auto handle = Napi::External<T>::New(env, object, [](Napi::Env, T* o) { delete o; });
  handle.TypeTag(&tag);
  return handle;
}

// The object behind argument i when it is a handle of this kind, else null.
template <typename T>
T* HandleOf(const Napi::CallbackInfo& info, size_t i, const napi_type_tag& tag) {
  if (i >= info.Length() || !info[i].IsExternal()) return nullptr;
  auto external = info[i].As<Napi::External<T>>();
  return external.CheckTypeTag(&tag) ? external.Data() : nullptr;
}

// rnnStepper({ cell, resetAfter, I, H, layerNorm, <parameter lists of one
// entry> }): copies and packs one layer's weights for token-by-token steps.
Napi::Value JS_rnnStepper(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "Expected an options object");
  KeepAlive keep;
  Fields f(info[0].As<Napi::Object>(), keep);
  eddy::RnnShape s;
  s.cell = static_cast<eddy::CellKind>(f.Int("cell", 0, 3));
  s.reset_after = f.Bool("resetAfter");
  s.I = static_cast<int>(f.Int("I", 1, 1 << 20));
  s.H = static_cast<int>(f.Int("H", 1, 1 << 20));
  s.layer_norm = f.Bool("layerNorm");
  if (s.layer_norm && !(s.cell == eddy::CellKind::kLstm || (s.cell == eddy::CellKind::kGru && s.reset_after))) {
    throw Napi::RangeError::New(f.Env(), "layerNorm needs an LSTM or a GRU with resetAfter");
  }
  eddy::RnnParams p;
  for (const eddy::ParamKind& kind : eddy::kParamKinds) p.*kind.value = ParamList<std::vector<const float*>>(f, s, kind, false);
  eddy::RecurrentStepper* stepper = nullptr;
  try {
    stepper = new eddy::RecurrentStepper(s, p);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return OwnedHandle(info.Env(), stepper, kStepperTag);
}

// rnnStep(stepper, x [B·I], h [B·H], c [B·H] | null): one step in place, synchronous.
Napi::Value JS_rnnStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  eddy::RecurrentStepper* st = HandleOf<eddy::RecurrentStepper>(info, 0, kStepperTag);
  if (info.Length() < 4 || st == nullptr) throw Napi::TypeError::New(env, "Expected a stepper made by rnnStepper");
  const eddy::RnnShape& s = st->shape();
  FloatView x = ArgFloat32Array(info, 1, "x");
  FloatView h = ArgFloat32Array(info, 2, "h");
  const size_t H = static_cast<size_t>(s.H);
  if (h.length == 0 || h.length % H != 0) throw Napi::RangeError::New(env, "Expected h of B·H elements");
  const size_t B = h.length / H;
  if (x.length != B * s.I) throw Napi::RangeError::New(env, "Expected x of B·I elements");
  float* c = nullptr;
  if (s.cell == eddy::CellKind::kLstm) {
    FloatView cv = ArgFloat32Array(info, 3, "c");
    if (cv.length != h.length) throw Napi::RangeError::New(env, "Expected c of B·H elements");
    c = cv.data;
  }
  if (B > static_cast<size_t>(1 << 20)) throw Napi::RangeError::New(env, "Too many streams for one step");
  st->step(static_cast<int>(B), x.data, h.data, c);
  return env.Undefined();
}

// rnnStepSlots(stepper, x [B·I], slots Int32Array [B], hSlab [rows·H],
// cSlab [rows·H] | null, y [B·H]): one step of the B streams whose states
// are rows `slots` of the slabs, in place; y gets the new h. With a head
// (made by linearRows, taking H features) and out [B·head.out] as well,
// out = head(y) in the same call, each thread taking its rows from gather
// through the head.
Napi::Value JS_rnnStepSlots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  eddy::RecurrentStepper* st = HandleOf<eddy::RecurrentStepper>(info, 0, kStepperTag);
  if (info.Length() < 6 || st == nullptr) throw Napi::TypeError::New(env, "Expected a stepper made by rnnStepper");
  const eddy::RnnShape& s = st->shape();
  const size_t H = static_cast<size_t>(s.H);
  FloatView x = ArgFloat32Array(info, 1, "x");
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) throw Napi::TypeError::New(env, "Expected Int32Array for slots");
  auto slots = info[2].As<Napi::Int32Array>();
  const size_t B = slots.ElementLength();
  FloatView h = ArgFloat32Array(info, 3, "hSlab");
  FloatView y = ArgFloat32Array(info, 5, "y");
  if (B == 0 || B > static_cast<size_t>(1 << 20)) throw Napi::RangeError::New(env, "Expected between 1 and 2^20 slots");
  if (x.length != B * s.I) throw Napi::RangeError::New(env, "Expected x of B·I elements");
  if (y.length != B * H) throw Napi::RangeError::New(env, "Expected y of B·H elements");
  if (h.length % H != 0) throw Napi::RangeError::New(env, "Expected hSlab of rows·H elements");
  float* c = nullptr;
  if (s.cell == eddy::CellKind::kLstm) {
    FloatView cv = ArgFloat32Array(info, 4, "cSlab");
    if (cv.length != h.length) throw Napi::RangeError::New(env, "Expected cSlab of as many elements as hSlab");
    c = cv.data;
  }
  const eddy::LinearRows* head = nullptr;
  float* out = nullptr;
  if (info.Length() >= 7 && !info[6].IsNull() && !info[6].IsUndefined()) {
    head = HandleOf<eddy::LinearRows>(info, 6, kLinearRowsTag);
    if (head == nullptr) throw Napi::TypeError::New(env, "Expected a head made by linearRows, or null");
    if (static_cast<size_t>(head->in()) != H) throw Napi::RangeError::New(env, "Expected a head taking H features");
    FloatView o = ArgFloat32Array(info, 7, "out");
    if (o.length != B * head->out()) throw Napi::RangeError::New(env, "Expected out of B·head.out elements");
    out = o.data;
  }
  const int64_t rows = static_cast<int64_t>(h.length / H);
  const int32_t* slot = slots.Data();
  // Rows are stepped in blocks on several threads, each reading and writing its slots' slab rows: a
  // slot named twice would be read by one thread while another writes it.
  std::vector<uint8_t> seen(static_cast<size_t>(rows), 0);
  for (size_t b = 0; b < B; ++b) {
    if (slot[b] < 0 || slot[b] >= rows) throw Napi::RangeError::New(env, "Expected slots inside the slabs");
    if (seen[static_cast<size_t>(slot[b])]++ != 0) throw Napi::RangeError::New(env, "Expected distinct slots");
  }
  st->step_slots(static_cast<int>(B), x.data, slot, h.data, c, y.data, head, out);
  return env.Undefined();
}

// ---------------------------------------------------------------- batch-invariant Linear

// linearRows(weight [out·in], bias [out] | null, out, in): copies and packs a
// Linear layer's weights for linearRowsRun.
Napi::Value JS_linearRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "Expected weight, bias, out, in");
  FloatView w = ArgFloat32Array(info, 0, "weight");
  const int out = static_cast<int>(ArgInt(info, 2, "out", 1, 1 << 24));
  const int in = static_cast<int>(ArgInt(info, 3, "in", 1, 1 << 24));
  if (w.length != static_cast<size_t>(out) * in) throw Napi::RangeError::New(env, "Expected weight of out·in elements");
  const float* bias = nullptr;
  if (!info[1].IsNull()) {
    FloatView b = ArgFloat32Array(info, 1, "bias");
    if (b.length != static_cast<size_t>(out)) throw Napi::RangeError::New(env, "Expected bias of out elements");
    bias = b.data;
  }
  auto* rows = new eddy::LinearRows(w.data, bias, out, in);
  return OwnedHandle(env, rows, kLinearRowsTag);
}

// linearRowsRun(handle, x [m·in], y [m·out]): y = x·Wᵀ + b, synchronous.
Napi::Value JS_linearRowsRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const eddy::LinearRows* r = HandleOf<eddy::LinearRows>(info, 0, kLinearRowsTag);
  if (info.Length() < 3 || r == nullptr) throw Napi::TypeError::New(env, "Expected a handle made by linearRows");
  FloatView x = ArgFloat32Array(info, 1, "x");
  FloatView y = ArgFloat32Array(info, 2, "y");
  if (x.length % r->in() != 0) throw Napi::RangeError::New(env, "Expected x of m·in elements");
  const size_t m = x.length / r->in();
  if (y.length != m * r->out()) throw Napi::RangeError::New(env, "Expected y of m·out elements");
  if (m > static_cast<size_t>(1 << 30) / r->out()) throw Napi::RangeError::New(env, "Too many rows for one call");
  r->run(static_cast<int>(m), x.data, y.data);
  return env.Undefined();
}

// ---------------------------------------------------------------- losses, embedding, clipping

const int32_t* ArgInt32Array(const Napi::CallbackInfo& info, size_t i, const char* name, size_t size) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected Int32Array for ") + name);
  }
  if (v.As<Napi::Int32Array>().ElementLength() != size) {
    throw Napi::RangeError::New(info.Env(), std::string("Expected ") + std::to_string(size) + " elements for " + name);
  }
  return v.As<Napi::Int32Array>().Data();
}

double* ArgFloat64Array(const Napi::CallbackInfo& info, size_t i, const char* name, size_t size) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      v.As<Napi::Float64Array>().ElementLength() != size) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected Float64Array of ") + std::to_string(size) + " elements for " + name);
  }
  return v.As<Napi::Float64Array>().Data();
}

// A Float32Array of exactly `size` elements, or null when allowed.
float* ArgFloats(const Napi::CallbackInfo& info, size_t i, const char* name, size_t size, bool nullable) {
  if (nullable && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  FloatView v = ArgFloat32Array(info, i, name);
  if (v.length != size) throw Napi::RangeError::New(info.Env(), std::string("Expected ") + std::to_string(size) + " elements for " + name);
  return v.data;
}

double ArgDouble(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("Expected number for ") + name);
  return info[i].As<Napi::Number>().DoubleValue();
}

// Targets must be −1 (not counted) or a class in [0, C): checked here too,
// since a bad one would index outside the row.
void CheckTargets(Napi::Env env, const int32_t* y, int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; ++r) {
    if (y[r] < -1 || y[r] >= C) throw Napi::RangeError::New(env, "Expected targets between -1 and classes - 1");
  }
}

// R rows of C logits, read from arguments r and r + 1, bounded so R·C fits every index.
std::pair<int64_t, int64_t> ArgLogitsShape(const Napi::CallbackInfo& info, size_t r) {
  const int64_t R = ArgInt(info, r, "R", 0, int64_t(1) << 40);
  const int64_t C = ArgInt(info, r + 1, "C", 1, int64_t(1) << 30);
  if (R > (int64_t(1) << 46) / C) throw Napi::RangeError::New(info.Env(), "Too many logits for one call");
  return {R, C};
}

// softmaxXentForward(z [R·C], y Int32 [R], weight [C] | null, eps, R, C, losses Float64 [R], probs [R·C] | null)
Napi::Value JS_softmaxXentForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8) throw Napi::TypeError::New(env, "Expected z, y, weight, eps, R, C, losses, probs");
  const auto [R, C] = ArgLogitsShape(info, 4);
  const size_t RC = static_cast<size_t>(R * C);
  const float* z = ArgFloats(info, 0, "z", RC, false);
  const int32_t* y = ArgInt32Array(info, 1, "y", static_cast<size_t>(R));
  const float* w = ArgFloats(info, 2, "weight", static_cast<size_t>(C), true);
  const double eps = ArgDouble(info, 3, "eps");
  double* losses = ArgFloat64Array(info, 6, "losses", static_cast<size_t>(R));
  float* probs = ArgFloats(info, 7, "probs", RC, true);
  CheckTargets(env, y, R, C);
  eddy::softmax_xent_forward(losses, probs, z, y, w, eps, R, C);
  return env.Undefined();
}

// softmaxXentBackward(dz [R·C], probs [R·C], y Int32 [R], weight [C] | null, eps, scale Float64 [R], R, C)
Napi::Value JS_softmaxXentBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8) throw Napi::TypeError::New(env, "Expected dz, probs, y, weight, eps, scale, R, C");
  const auto [R, C] = ArgLogitsShape(info, 6);
  const size_t RC = static_cast<size_t>(R * C);
  float* dz = ArgFloats(info, 0, "dz", RC, false);
  const float* probs = ArgFloats(info, 1, "probs", RC, false);
  const int32_t* y = ArgInt32Array(info, 2, "y", static_cast<size_t>(R));
  const float* w = ArgFloats(info, 3, "weight", static_cast<size_t>(C), true);
  const double eps = ArgDouble(info, 4, "eps");
  const double* scale = ArgFloat64Array(info, 5, "scale", static_cast<size_t>(R));
  CheckTargets(env, y, R, C);
  eddy::softmax_xent_backward(dz, probs, y, w, eps, scale, R, C);
  return env.Undefined();
}

void CheckIds(Napi::Env env, const int32_t* ids, size_t n, int64_t V) {
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= V) throw Napi::RangeError::New(env, "Expected ids between 0 and V - 1");
  }
}

// embeddingForward(out [n·D], weight [V·D], ids Int32 [n], V, D)
Napi::Value JS_embeddingForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, "Expected out, weight, ids, V, D");
  const int64_t V = ArgInt(info, 3, "V", 1, int64_t(1) << 31);  // ids are int32; V·D ≤ 2^61 cannot overflow
  const int64_t D = ArgInt(info, 4, "D", 1, int64_t(1) << 30);
  FloatView out = ArgFloat32Array(info, 0, "out");
  const size_t n = out.length / static_cast<size_t>(D);
  if (out.length != n * D) throw Napi::RangeError::New(env, "Expected out of n·D elements");
  const float* weight = ArgFloats(info, 1, "weight", static_cast<size_t>(V * D), false);
  const int32_t* ids = ArgInt32Array(info, 2, "ids", n);
  CheckIds(env, ids, n, V);
  eddy::embedding_forward(out.data, weight, ids, static_cast<int64_t>(n), D);
  return env.Undefined();
}

// embeddingBackward(dweight [V·D], dout [n·D], ids Int32 [n], pad (−1 for none), V, D): dweight += scatter(dout)
Napi::Value JS_embeddingBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6) throw Napi::TypeError::New(env, "Expected dweight, dout, ids, pad, V, D");
  const int64_t V = ArgInt(info, 4, "V", 1, int64_t(1) << 31);  // ids are int32; V·D ≤ 2^61, pad ≤ V − 1 fits int32
  const int64_t D = ArgInt(info, 5, "D", 1, int64_t(1) << 30);
  float* dweight = ArgFloats(info, 0, "dweight", static_cast<size_t>(V * D), false);
  FloatView dout = ArgFloat32Array(info, 1, "dout");
  const size_t n = dout.length / static_cast<size_t>(D);
  if (dout.length != n * D) throw Napi::RangeError::New(env, "Expected dout of n·D elements");
  const int32_t* ids = ArgInt32Array(info, 2, "ids", n);
  const int32_t pad = static_cast<int32_t>(ArgInt(info, 3, "pad", -1, V - 1));
  CheckIds(env, ids, n, V);
  eddy::embedding_backward(dweight, dout.data, ids, pad, static_cast<int64_t>(n), D);
  return env.Undefined();
}

// The elements of argument i, which must be an array. Reading them may run
// getters, so every array argument of a call is read this way before any
// data pointer is taken (FloatSpansOf): a getter cannot detach a buffer
// after its pointer was kept.
std::vector<Napi::Value> ArgItems(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string("Expected an array of Float32Array for ") + name);
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<Napi::Value> items;
  for (uint32_t j = 0; j < arr.Length(); ++j) items.push_back(arr.Get(j));
  return items;
}

// The data of items read by ArgItems, each a Float32Array (runs no JavaScript).
std::vector<eddy::FloatSpan> FloatSpansOf(Napi::Env env, const std::vector<Napi::Value>& items, const char* name) {
  std::vector<eddy::FloatSpan> spans;
  for (const Napi::Value& v : items) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, std::string("Expected an array of Float32Array for ") + name);
    }
    auto a = v.As<Napi::Float32Array>();
    spans.push_back({a.Data(), a.ElementLength()});
  }
  return spans;
}

std::vector<eddy::FloatSpan> ArgFloatSpans(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return FloatSpansOf(info.Env(), ArgItems(info, i, name), name);
}

// totalNorm(arrays, p): the p-norm of all their elements together (p = Infinity: the largest |x|).
Napi::Value JS_totalNorm(const Napi::CallbackInfo& info) {
  std::vector<eddy::FloatSpan> spans = ArgFloatSpans(info, 0, "arrays");
  const double p = ArgDouble(info, 1, "p");
  if (!(p > 0)) throw Napi::RangeError::New(info.Env(), "Expected a positive number for p");
  return Napi::Number::New(info.Env(), eddy::total_norm(spans, p));
}

// scaleArrays(arrays, c): every element times c, in place.
Napi::Value JS_scaleArrays(const Napi::CallbackInfo& info) {
  const float c = ArgFloat(info, 1, "c");
  eddy::scale_spans(ArgFloatSpans(info, 0, "arrays"), c);
  return info.Env().Undefined();
}

// addArrays(dst, src): dst[k] += src[k] elementwise for every k, in place;
// pairs of equal lengths. A pair whose arrays partly overlap is refused (the
// pool's threads would read elements another one already wrote); the same
// array twice is fine (each element doubles), and pairs run one after another.
Napi::Value JS_addArrays(const Napi::CallbackInfo& info) {
  const std::vector<Napi::Value> dst_items = ArgItems(info, 0, "dst");
  const std::vector<Napi::Value> src_items = ArgItems(info, 1, "src");
  std::vector<eddy::FloatSpan> dst = FloatSpansOf(info.Env(), dst_items, "dst");
  std::vector<eddy::FloatSpan> src = FloatSpansOf(info.Env(), src_items, "src");
  if (dst.size() != src.size()) {
    throw Napi::RangeError::New(info.Env(), "Expected as many src arrays as dst arrays (" + std::to_string(dst.size()) + ") but received " +
                                                std::to_string(src.size()));
  }
  for (size_t k = 0; k < dst.size(); ++k) {
    if (dst[k].size != src[k].size) {
      throw Napi::RangeError::New(info.Env(), "Expected src[" + std::to_string(k) + "] to have dst[" + std::to_string(k) + "]'s length " +
                                                  std::to_string(dst[k].size) + " but received " + std::to_string(src[k].size));
    }
    const uintptr_t d0 = reinterpret_cast<uintptr_t>(dst[k].data), d1 = d0 + sizeof(float) * dst[k].size;
    const uintptr_t s0 = reinterpret_cast<uintptr_t>(src[k].data), s1 = s0 + sizeof(float) * src[k].size;
    if (d0 != s0 && d0 < s1 && s0 < d1) {
      throw Napi::RangeError::New(info.Env(), "Expected dst[" + std::to_string(k) + "] and src[" + std::to_string(k) + "] not to overlap");
    }
  }
  eddy::add_spans(dst, src);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- optimizers

// Every optimizer entry takes { p, g, <state arrays>, <hyperparameters> };
// all arrays must have p's length. State arrays are updated in place.
struct OptimArrays {
  float* p;
  const float* g;
  size_t n;
};

OptimArrays ParseOptimArrays(const Fields& f) {
  const size_t n = f.Float32Length("p");
  return {f.Floats("p", n, false), f.Floats("g", n, false), n};
}

Napi::Object OptionsObject(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "Expected an options object");
  return info[0].As<Napi::Object>();
}

Napi::Value JS_sgdStep(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Napi::Object o = OptionsObject(info);
  Fields f(o, keep);
  OptimArrays a = ParseOptimArrays(f);
  eddy::SgdArgs args;
  args.lr = f.Number("lr");
  args.momentum = f.Number("momentum");
  args.dampening = f.Number("dampening");
  args.weight_decay = f.Number("weightDecay");
  args.nesterov = f.Bool("nesterov");
  args.first_step = f.Bool("firstStep");
  eddy::sgd_step(a.p, a.g, f.Floats("buf", a.n, true), a.n, args);
  return info.Env().Undefined();
}

Napi::Value JS_adamStep(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Napi::Object o = OptionsObject(info);
  Fields f(o, keep);
  OptimArrays a = ParseOptimArrays(f);
  eddy::AdamArgs args;
  args.lr = f.Number("lr");
  args.beta1 = f.Number("beta1");
  args.beta2 = f.Number("beta2");
  args.eps = f.Number("eps");
  args.weight_decay = f.Number("weightDecay");
  args.decoupled = f.Bool("decoupled");
  args.step = f.Int("step", 1, int64_t(1) << 53);
  eddy::adam_step(a.p, a.g, f.Floats("m", a.n, false), f.Floats("v", a.n, false), f.Floats("vmax", a.n, true), a.n, args);
  return info.Env().Undefined();
}

Napi::Value JS_rmspropStep(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Napi::Object o = OptionsObject(info);
  Fields f(o, keep);
  OptimArrays a = ParseOptimArrays(f);
  eddy::RmspropArgs args;
  args.lr = f.Number("lr");
  args.alpha = f.Number("alpha");
  args.eps = f.Number("eps");
  args.weight_decay = f.Number("weightDecay");
  args.momentum = f.Number("momentum");
  eddy::rmsprop_step(a.p, a.g, f.Floats("sq", a.n, false), f.Floats("gavg", a.n, true), f.Floats("buf", a.n, true), a.n, args);
  return info.Env().Undefined();
}

Napi::Value JS_adagradStep(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Napi::Object o = OptionsObject(info);
  Fields f(o, keep);
  OptimArrays a = ParseOptimArrays(f);
  eddy::AdagradArgs args;
  args.lr = f.Number("lr");
  args.lr_decay = f.Number("lrDecay");
  args.weight_decay = f.Number("weightDecay");
  args.eps = f.Number("eps");
  args.step = f.Int("step", 1, int64_t(1) << 53);
  eddy::adagrad_step(a.p, a.g, f.Floats("sum", a.n, false), a.n, args);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- attention

struct ScoreDims {
  int B, Tq, Tk, H;
};

ScoreDims ParseScoreDims(const Fields& f) {
  ScoreDims d;
  d.B = static_cast<int>(f.Int("B", 0, kMaxDim));
  d.Tq = static_cast<int>(f.Int("Tq", 0, kMaxDim));
  d.Tk = static_cast<int>(f.Int("Tk", 0, kMaxDim));
  d.H = static_cast<int>(f.Int("H", 1, kMaxDim));
  return d;
}

// { s, qp, kp, v, B, Tq, Tk, H }: s = vᵀ tanh(qp + kp) for every query and key.
Napi::Value JS_additiveScore(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Fields f(OptionsObject(info), keep);
  const ScoreDims d = ParseScoreDims(f);
  const size_t bq = static_cast<size_t>(d.B) * d.Tq, bk = static_cast<size_t>(d.B) * d.Tk;
  float* s = f.Floats("s", bq * d.Tk, false);
  const float* qp = f.Floats("qp", bq * d.H, false);
  const float* kp = f.Floats("kp", bk * d.H, false);
  const float* v = f.Floats("v", d.H, false);
  eddy::additive_score_forward(s, qp, kp, v, d.B, d.Tq, d.Tk, d.H);
  return info.Env().Undefined();
}

// { ds, qp, kp, v, dqp?, dkp?, dv?, B, Tq, Tk, H }: gradients accumulated into dqp, dkp, dv.
Napi::Value JS_additiveScoreBackward(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Fields f(OptionsObject(info), keep);
  const ScoreDims d = ParseScoreDims(f);
  const size_t bq = static_cast<size_t>(d.B) * d.Tq, bk = static_cast<size_t>(d.B) * d.Tk;
  const float* ds = f.Floats("ds", bq * d.Tk, false);
  const float* qp = f.Floats("qp", bq * d.H, false);
  const float* kp = f.Floats("kp", bk * d.H, false);
  const float* v = f.Floats("v", d.H, false);
  float* dqp = f.Floats("dqp", bq * d.H, true);
  float* dkp = f.Floats("dkp", bk * d.H, true);
  float* dv = f.Floats("dv", d.H, true);
  eddy::additive_score_backward(dqp, dkp, dv, ds, qp, kp, v, d.B, d.Tq, d.Tk, d.H);
  return info.Env().Undefined();
}

// Scaled dot-product attention. Q, K, V and O are strided views: field
// `q` is an array starting at the view's first element, `qStrides` its
// [batch, head, time] strides (the feature axis is contiguous); likewise k,
// v and out. Float64Arrays select the double-precision instance (tests).
eddy::HeadView ParseHeadView(const Fields& f, const char* name) {
  const std::string base(name);
  eddy::HeadView hv;
  hv.sb = f.Int((base + "Sb").c_str(), 0, kMaxDim);
  hv.sh = f.Int((base + "Sh").c_str(), 0, kMaxDim);
  hv.st = f.Int((base + "St").c_str(), 0, kMaxDim);
  return hv;
}

// Elements a [B, H, T, D] view with these strides reaches.
size_t HeadExtent(Napi::Env env, const char* name, const eddy::HeadView& v, int B, int H, int T, int D) {
  if (B == 0 || H == 0 || T == 0 || D == 0) return 0;
  if (v.st < D && T > 1) throw Napi::RangeError::New(env, std::string("Rows overlap in ") + name);
  const double extent = (B - 1.0) * v.sb + (H - 1.0) * v.sh + (T - 1.0) * v.st + D;
  if (extent > 4e12) throw Napi::RangeError::New(env, std::string("Attention operand too large: ") + name);
  return static_cast<size_t>(extent);
}

eddy::SdpaShape ParseSdpaShape(const Fields& f) {
  eddy::SdpaShape s;
  s.B = static_cast<int>(f.Int("B", 0, kMaxDim));
  s.H = static_cast<int>(f.Int("H", 1, kMaxDim));
  s.Tq = static_cast<int>(f.Int("Tq", 0, kMaxDim));
  s.Tk = static_cast<int>(f.Int("Tk", 0, kMaxDim));
  s.D = static_cast<int>(f.Int("D", 1, kMaxDim));
  s.Dv = static_cast<int>(f.Int("Dv", 1, kMaxDim));
  s.scale = f.Number("scale");
  s.causal = f.Bool("causal");
  s.causal_offset = static_cast<int>(f.Int("causalOffset", 0, kMaxDim));
  s.dropout = f.Number("dropout");
  if (!(s.dropout >= 0 && s.dropout < 1)) throw Napi::RangeError::New(f.Env(), "Expected dropout in [0, 1)");
  s.seed = static_cast<uint64_t>(f.Int("seed", 0, (int64_t(1) << 53)));
  s.mask_per_head = f.Bool("maskPerHead");
  s.q = ParseHeadView(f, "q");
  s.k = ParseHeadView(f, "k");
  s.v = ParseHeadView(f, "v");
  s.o = ParseHeadView(f, "out");
  const double scores = static_cast<double>(s.B) * s.H * s.Tq * s.Tk;
  if (scores > 4e15) throw Napi::RangeError::New(f.Env(), "attention problem too large");
  return s;
}

template <typename T>
struct SdpaArrays {
  const T *q, *k, *v, *mask;
  const int32_t* lengths;
};

template <typename T>
SdpaArrays<T> ParseSdpaArrays(const Fields& f, const eddy::SdpaShape& s) {
  Napi::Env env = f.Env();
  SdpaArrays<T> a;
  a.q = f.Span<T>("q", HeadExtent(env, "q", s.q, s.B, s.H, s.Tq, s.D), false);
  a.k = f.Span<T>("k", HeadExtent(env, "k", s.k, s.B, s.H, s.Tk, s.D), false);
  a.v = f.Span<T>("v", HeadExtent(env, "v", s.v, s.B, s.H, s.Tk, s.Dv), false);
  const size_t tt = static_cast<size_t>(s.Tq) * s.Tk;
  a.mask = f.Span<T>("mask", s.mask_per_head ? tt * s.B * s.H : tt, true);
  a.lengths = f.Ints("lengths", s.B);
  return a;
}

template <typename T>
void SdpaForward(const Fields& f) {
  const eddy::SdpaShape s = ParseSdpaShape(f);
  const SdpaArrays<T> a = ParseSdpaArrays<T>(f, s);
  const size_t rows = static_cast<size_t>(s.B) * s.H * s.Tq;
  T* out = f.Span<T>("out", HeadExtent(f.Env(), "out", s.o, s.B, s.H, s.Tq, s.Dv), false);
  T* lse = f.Span<T>("lse", rows, false);
  T* weights = f.Span<T>("weights", rows * s.Tk, true);
  eddy::sdpa_forward(out, lse, weights, a.q, a.k, a.v, a.lengths, a.mask, s);
}

// Everything the backward reads and writes, with the element count of each
// input (for the async path's copies).
template <typename T>
struct SdpaBackwardArgs {
  eddy::SdpaShape s;
  SdpaArrays<T> a;
  const T *out, *lse, *dout, *dweights, *weights;
  T *dq, *dk, *dv;
  size_t q_n, k_n, v_n, mask_n, out_n, rows;
  std::vector<int32_t> lengths;  // copied: the async job must not read a JS array
};

template <typename T>
SdpaBackwardArgs<T> ParseSdpaBackward(const Fields& f) {
  SdpaBackwardArgs<T> b;
  b.s = ParseSdpaShape(f);
  const eddy::SdpaShape& s = b.s;
  b.a = ParseSdpaArrays<T>(f, s);
  Napi::Env env = f.Env();
  b.rows = static_cast<size_t>(s.B) * s.H * s.Tq;
  b.q_n = HeadExtent(env, "q", s.q, s.B, s.H, s.Tq, s.D);
  b.k_n = HeadExtent(env, "k", s.k, s.B, s.H, s.Tk, s.D);
  b.v_n = HeadExtent(env, "v", s.v, s.B, s.H, s.Tk, s.Dv);
  b.out_n = HeadExtent(env, "out", s.o, s.B, s.H, s.Tq, s.Dv);
  b.mask_n = b.a.mask ? static_cast<size_t>(s.Tq) * s.Tk * (s.mask_per_head ? static_cast<size_t>(s.B) * s.H : 1) : 0;
  b.out = f.Span<T>("out", b.out_n, false);
  b.lse = f.Span<T>("lse", b.rows, false);
  b.dout = f.Span<T>("dout", b.rows * s.Dv, false);
  b.dweights = f.Span<T>("dweights", b.rows * s.Tk, true);
  b.weights = f.Span<T>("weights", b.rows * s.Tk, b.dweights == nullptr);
  b.dq = f.Span<T>("dq", b.q_n, true);
  b.dk = f.Span<T>("dk", b.k_n, true);
  b.dv = f.Span<T>("dv", b.v_n, true);
  if (b.a.lengths) b.lengths.assign(b.a.lengths, b.a.lengths + s.B);
  return b;
}

template <typename T>
void RunSdpaBackward(const SdpaBackwardArgs<T>& b) {
  eddy::sdpa_backward(b.dq, b.dk, b.dv, b.dout, b.dweights, b.a.q, b.a.k, b.a.v, b.out, b.lse, b.weights,
                      b.lengths.empty() ? nullptr : b.lengths.data(), b.a.mask, b.s);
}

template <typename T>
void SdpaBackward(const Fields& f) {
  RunSdpaBackward(ParseSdpaBackward<T>(f));
}

// { q, k, v, out, lse, weights?, lengths?, mask?, B, H, Tq, Tk, D, Dv, scale,
//   causal, causalOffset, dropout, seed, maskPerHead, <x>Sb/Sh/St }
Napi::Value JS_sdpaForward(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Fields f(OptionsObject(info), keep);
  if (f.IsFloat64("q")) SdpaForward<double>(f);
  else SdpaForward<float>(f);
  return info.Env().Undefined();
}

// The forward's fields plus dout, dweights?, dq?, dk?, dv? (accumulated into;
// dq, dk, dv laid out like q, k, v).
Napi::Value JS_sdpaBackward(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Fields f(OptionsObject(info), keep);
  if (f.IsFloat64("q")) SdpaBackward<double>(f);
  else SdpaBackward<float>(f);
  return info.Env().Undefined();
}

// sdpaBackward on a worker thread (float32): inputs are copied, the
// gradient arrays stay referenced until the Promise settles.
Napi::Value JS_sdpaBackwardAsync(const Napi::CallbackInfo& info) {
  KeepAlive keep;
  Fields f(OptionsObject(info), keep);
  SdpaBackwardArgs<float> b = ParseSdpaBackward<float>(f);
  Owned own = NewOwned();
  b.a.q = OwnCopy(own, b.a.q, b.q_n);
  b.a.k = OwnCopy(own, b.a.k, b.k_n);
  b.a.v = OwnCopy(own, b.a.v, b.v_n);
  b.a.mask = OwnCopy(own, b.a.mask, b.mask_n);
  b.out = OwnCopy(own, b.out, b.out_n);
  b.lse = OwnCopy(own, b.lse, b.rows);
  b.dout = OwnCopy(own, b.dout, b.rows * b.s.Dv);
  b.dweights = OwnCopy(own, b.dweights, b.rows * b.s.Tk);
  b.weights = OwnCopy(own, b.weights, b.rows * b.s.Tk);
  b.a.lengths = nullptr;
  return Queue(info.Env(), "scaled dot-product attention", [b, own] { RunSdpaBackward(b); }, std::move(keep));
}

// activate(kind, x, y, kernels): kind 0 sigmoid, 1 tanh, 2 exp; kernels 0
// portable, 1 AVX2, 2 the AVX-512 fused steps' (no exp). For accuracy tests
// of every code path; false when the CPU lacks the set or the set the kind.
Napi::Value JS_activate(const Napi::CallbackInfo& info) {
  const int kind = static_cast<int>(ArgInt(info, 0, "kind", 0, 2));
  FloatView x = ArgFloat32Array(info, 1, "x");
  FloatView y = ArgFloat32Array(info, 2, "y");
  if (x.length != y.length) throw Napi::RangeError::New(info.Env(), "x and y differ in length");
  const eddy::ActivationKernels* k = eddy::activation_kernels(static_cast<int>(ArgInt(info, 3, "kernels", 0, 2)));
  auto fn = !k ? nullptr : kind == 0 ? k->sigmoid : kind == 1 ? k->tanh : k->exp;
  if (!fn) return Napi::Boolean::New(info.Env(), false);
  fn(y.data, x.data, static_cast<int64_t>(x.length));
  return Napi::Boolean::New(info.Env(), true);
}

// ---------------------------------------------------------------- distributed
//
// Collectives run on the communication thread of distributed.cc; each
// settles a Promise through one thread-safe function. The typed array a
// collective works on stays referenced until then. The thread-safe function
// keeps the event loop alive only while collectives are pending, so a
// process with MPI initialized but idle can still exit.

struct DistPending {
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference keep;
};

Napi::ThreadSafeFunction dist_tsfn;
int dist_pending = 0;

const char* DistErrorCode(eddy::dist::Status s) {
  switch (s) {
    case eddy::dist::Status::Timeout: return "ERR_EDDY_DISTRIBUTED_TIMEOUT";
    case eddy::dist::Status::Unavailable: return "ERR_EDDY_MPI_UNAVAILABLE";
    default: return "ERR_EDDY_MPI";
  }
}

void DistSettle(Napi::Env env, eddy::dist::Job* job) {
  std::unique_ptr<eddy::dist::Job> owned(job);
  std::unique_ptr<DistPending> pending(static_cast<DistPending*>(job->user));
  if (--dist_pending == 0) dist_tsfn.Unref(env);
  try {
    if (job->status != eddy::dist::Status::Ok) {
      // After a failed collective a peer's late message may still land in
      // the array: its reference is leaked on purpose, so it is never collected.
      if (!pending->keep.IsEmpty()) new Napi::ObjectReference(std::move(pending->keep));
      Napi::Error e = Napi::Error::New(env, job->error);
      e.Set("code", Napi::String::New(env, DistErrorCode(job->status)));
      pending->deferred.Reject(e.Value());
      return;
    }
    if (job->kind == eddy::dist::Kind::Init) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("rank", Napi::Number::New(env, job->rank));
      o.Set("size", Napi::Number::New(env, job->size));
      o.Set("threadLevel", Napi::Number::New(env, job->thread_level));
      o.Set("library", Napi::String::New(env, job->loaded));
      o.Set("version", Napi::String::New(env, job->version));
      pending->deferred.Resolve(o);
    } else {
      pending->deferred.Resolve(env.Undefined());
    }
  } catch (const Napi::Error&) {
    // The environment is shutting down; the Promise can no longer settle.
  }
}

Napi::Value DistSubmit(Napi::Env env, eddy::dist::Job* job, Napi::Value keep) {
  if (!dist_tsfn) {
    dist_tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                              "eddy-mpi", 0, 1);
    dist_tsfn.Unref(env);
    eddy::dist::SetCompletion([](eddy::dist::Job* done) {
      dist_tsfn.BlockingCall(done, [](Napi::Env e, Napi::Function, eddy::dist::Job* j) { DistSettle(e, j); });
    });
  }
  auto* pending = new DistPending{Napi::Promise::Deferred::New(env), {}};
  if (keep.IsObject()) pending->keep = Napi::Persistent(keep.As<Napi::Object>());
  job->user = pending;
  Napi::Promise promise = pending->deferred.Promise();
  if (dist_pending++ == 0) dist_tsfn.Ref(env);
  eddy::dist::Submit(job);
  return promise;
}

double ArgTimeout(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "Expected number of seconds for timeout");
  return info[i].As<Napi::Number>().DoubleValue();
}

// A typed array for a collective: its data, element count and MPI type.
void ArgCollectiveArray(const Napi::CallbackInfo& info, size_t i, bool bytes_allowed, eddy::dist::Job& job) {
  if (!info[i].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "Expected a typed array for data");
  auto arr = info[i].As<Napi::TypedArray>();
  switch (arr.TypedArrayType()) {
    case napi_float32_array: job.dtype = eddy::dist::DType::Float32; break;
    case napi_float64_array: job.dtype = eddy::dist::DType::Float64; break;
    case napi_int32_array: job.dtype = eddy::dist::DType::Int32; break;
    case napi_uint8_array:
      if (bytes_allowed) {
        job.dtype = eddy::dist::DType::Uint8;
        break;
      }
      [[fallthrough]];
    default: throw Napi::TypeError::New(info.Env(), "Expected Float32Array, Float64Array or Int32Array for data");
  }
  job.data = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  job.count = arr.ElementLength();
}

// distributedInit(library): loads libmpi (library, or the default search
// when empty) and initializes MPI on the communication thread.
Napi::Value JS_distributedInit(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "Expected string for library");
  auto* job = new eddy::dist::Job();
  job->kind = eddy::dist::Kind::Init;
  job->library = info[0].As<Napi::String>().Utf8Value();
  return DistSubmit(info.Env(), job, info.Env().Undefined());
}

// distributedAllReduce(data, op, timeoutSeconds, preScale = 1, postScale = 1): in place; op 0
// sum, 1 max, 2 min, 3 prod; float elements scaled before and after (Job::pre_scale).
Napi::Value JS_distributedAllReduce(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<eddy::dist::Job>();
  job->kind = eddy::dist::Kind::AllReduce;
  ArgCollectiveArray(info, 0, false, *job);
  job->op = static_cast<eddy::dist::Op>(ArgInt(info, 1, "op", 0, 3));
  job->timeout_s = ArgTimeout(info, 2);
  job->pre_scale = info.Length() > 3 ? ArgDouble(info, 3, "preScale") : 1.0;
  job->post_scale = info.Length() > 4 ? ArgDouble(info, 4, "postScale") : 1.0;
  return DistSubmit(info.Env(), job.release(), info[0]);
}

// distributedBroadcast(data, root, timeoutSeconds): root's data into everyone's.
Napi::Value JS_distributedBroadcast(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<eddy::dist::Job>();
  job->kind = eddy::dist::Kind::Broadcast;
  ArgCollectiveArray(info, 0, true, *job);
  job->root = static_cast<int>(ArgInt(info, 1, "root", 0, INT32_MAX));
  job->timeout_s = ArgTimeout(info, 2);
  return DistSubmit(info.Env(), job.release(), info[0]);
}

Napi::Value JS_distributedBarrier(const Napi::CallbackInfo& info) {
  auto* job = new eddy::dist::Job();
  job->kind = eddy::dist::Kind::Barrier;
  job->timeout_s = ArgTimeout(info, 0);
  return DistSubmit(info.Env(), job, info.Env().Undefined());
}

Napi::Value JS_distributedFinalize(const Napi::CallbackInfo& info) {
  auto* job = new eddy::dist::Job();
  job->kind = eddy::dist::Kind::Finalize;
  return DistSubmit(info.Env(), job, info.Env().Undefined());
}

// distributedAbort(code): MPI_Abort on every rank; for exit handlers, so synchronous.
Napi::Value JS_distributedAbort(const Napi::CallbackInfo& info) {
  eddy::dist::Abort(static_cast<int>(ArgInt(info, 0, "code", 0, 255)), 2.0);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- runtime

// parallelProbe(n, failAt): runs parallel_for over n items; the chunk
// holding item failAt (-1: none) throws std::bad_alloc. Returns how many
// items ran. For tests of the pool's error path, which no input reaches
// deterministically.
Napi::Value JS_parallelProbe(const Napi::CallbackInfo& info) {
  const int64_t n = ArgInt(info, 0, "n", 0, int64_t(1) << 40);
  const int64_t fail_at = ArgInt(info, 1, "failAt", -1, int64_t(1) << 40);
  std::atomic<int64_t> ran{0};
  eddy::parallel_for(n, 1, [&](int64_t begin, int64_t end) {
    ran += end - begin;
    if (fail_at >= begin && fail_at < end) throw std::bad_alloc();
  });
  return Napi::Number::New(info.Env(), static_cast<double>(ran.load()));
}

// teamProbe(maxMembers, steps, failMember, failStep): runs parallel_team;
// every member meets the others `steps` times, and member failMember (-1:
// none) fails an allocation just before its meeting number failStep.
// Returns the team's size. For tests that a failing member never leaves the
// others waiting at the barrier.
Napi::Value JS_teamProbe(const Napi::CallbackInfo& info) {
  const int max_members = static_cast<int>(ArgInt(info, 0, "maxMembers", 1, 1024));
  const int64_t steps = ArgInt(info, 1, "steps", 0, int64_t(1) << 30);
  const int64_t fail_member = ArgInt(info, 2, "failMember", -1, 1024);
  const int64_t fail_step = ArgInt(info, 3, "failStep", 0, int64_t(1) << 30);
  std::atomic<int> size{0};
  eddy::parallel_team(max_members, [&](eddy::TeamMember& m) {
    if (m.index() == 0) size = m.size();
    for (int64_t i = 0; i < steps; ++i) {
      if (m.index() == fail_member && i == fail_step) throw std::bad_alloc();
      m.sync();
    }
  });
  return Napi::Number::New(info.Env(), size.load());
}

// parallelBlocksProbe(blocks, failAt): the same through parallel_blocks;
// block failAt (-1: none) throws std::bad_alloc. Returns how many blocks ran.
Napi::Value JS_parallelBlocksProbe(const Napi::CallbackInfo& info) {
  const int64_t blocks = ArgInt(info, 0, "blocks", 0, int64_t(1) << 30);
  const int64_t fail_at = ArgInt(info, 1, "failAt", -1, int64_t(1) << 30);
  std::atomic<int64_t> ran{0};
  eddy::parallel_blocks(blocks, [&](int64_t i) {
    ran += 1;
    if (i == fail_at) throw std::bad_alloc();
  });
  return Napi::Number::New(info.Env(), static_cast<double>(ran.load()));
}

// The most threads the pool takes: more never helps on a CPU and each one
// costs a stack. Exported as `maxThreads` so TypeScript checks against it.
constexpr int kMaxThreads = 64;

Napi::Value JS_setNumThreads(const Napi::CallbackInfo& info) {
  eddy::set_num_threads(static_cast<int>(ArgInt(info, 0, "n", 1, kMaxThreads)));
  eddy::reset_split_rule();
  return info.Env().Undefined();
}

Napi::Value JS_getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), eddy::num_threads());
}

Napi::Value JS_runtimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", Napi::String::New(env, eddy::blas_name()));
  o.Set("blasConfig", Napi::String::New(env, eddy::blas_config()));
  o.Set("blasCore", Napi::String::New(env, eddy::blas_core()));
  o.Set("hardwareThreads", Napi::Number::New(env, std::thread::hardware_concurrency()));
  o.Set("avx2", Napi::Boolean::New(env, eddy::cpu_has_avx2()));
  // The instruction set Eddy's kernels use (EDDY_ISA narrows it), the ones
  // this CPU could use, and what runs on the recurrent hot path.
  o.Set("isa", Napi::String::New(env, eddy::isa_name(eddy::isa())));
  Napi::Array available = Napi::Array::New(env);
  for (eddy::Isa i : {eddy::Isa::kAvx512, eddy::Isa::kAvx2, eddy::Isa::kGeneric}) {
    if (eddy::cpu_supports(i)) available.Set(available.Length(), Napi::String::New(env, eddy::isa_name(i)));
  }
  o.Set("isaAvailable", available);
  Napi::Object kernels = Napi::Object::New(env);
  kernels.Set("recurrentGemm", Napi::String::New(env, eddy::packed_gemm_kernel_name()));
  kernels.Set("activations", Napi::String::New(env, eddy::use_avx2() ? "avx2" : "generic"));
  kernels.Set("blas", Napi::String::New(env, eddy::blas_core()));
  kernels.Set("gemm", Napi::String::New(env, eddy::gemm_kernel_name()));
  kernels.Set("weightGradients", Napi::String::New(env, eddy::weight_grad_kernel_name()));
  kernels.Set("inputGradients", Napi::String::New(env, eddy::input_grad_kernel_name()));
  kernels.Set("recurrentSplit", Napi::String::New(env, eddy::last_recurrent_split()));
  kernels.Set("inputProjection", Napi::String::New(env, eddy::last_input_projection()));
  o.Set("kernels", kernels);
  o.Set("heap", Napi::String::New(env, eddy::heap_policy()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // The pool belongs to the process and starts with one thread; on the
  // first load (not in every worker thread that loads Eddy) the TypeScript
  // side sets the default size (runtime/threads.ts owns it).
  static std::atomic<bool> loaded{false};
  const bool first = !loaded.exchange(true);
  if (first) eddy::choose_heap_policy();
  exports.Set("firstLoad", Napi::Boolean::New(env, first));
  exports.Set("maxThreads", Napi::Number::New(env, kMaxThreads));
  exports.Set("rnnParamKinds", RnnParamKinds(env));
  // name, what error messages call the operation, entry point
  struct Entry {
    const char* name;
    const char* op;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  static const Entry entries[] = {
      {"gemm", kGemmOp, JS_gemm},
      {"gemmAsync", kGemmOp, JS_gemmAsync},
      {"rnnWorkspaceSize", kRnnForwardOp, JS_rnnWorkspaceSize},
      {"rnnForward", kRnnForwardOp, JS_rnnForward},
      {"rnnForwardAsync", kRnnForwardOp, JS_rnnForwardAsync},
      {"rnnBackward", kRnnBackwardOp, JS_rnnBackward},
      {"rnnBackwardAsync", kRnnBackwardOp, JS_rnnBackwardAsync},
      {"rnnStepper", "the recurrent step", JS_rnnStepper},
      {"rnnStep", "the recurrent step", JS_rnnStep},
      {"rnnStepSlots", "the recurrent step", JS_rnnStepSlots},
      {"linearRows", "the batch-invariant Linear", JS_linearRows},
      {"linearRowsRun", "the batch-invariant Linear", JS_linearRowsRun},
      {"activate", "an activation", JS_activate},
      {"additiveScore", "attention scores", JS_additiveScore},
      {"additiveScoreBackward", "attention scores", JS_additiveScoreBackward},
      {"sdpaForward", "scaled dot-product attention", JS_sdpaForward},
      {"sdpaBackward", "scaled dot-product attention", JS_sdpaBackward},
      {"sdpaBackwardAsync", "scaled dot-product attention", JS_sdpaBackwardAsync},
      {"sgdStep", "an optimizer step", JS_sgdStep},
      {"adamStep", "an optimizer step", JS_adamStep},
      {"rmspropStep", "an optimizer step", JS_rmspropStep},
      {"adagradStep", "an optimizer step", JS_adagradStep},
      {"softmaxXentForward", "the cross-entropy", JS_softmaxXentForward},
      {"softmaxXentBackward", "the cross-entropy", JS_softmaxXentBackward},
      {"embeddingForward", "the embedding lookup", JS_embeddingForward},
      {"embeddingBackward", "the embedding lookup", JS_embeddingBackward},
      {"totalNorm", "gradient clipping", JS_totalNorm},
      {"scaleArrays", "gradient clipping", JS_scaleArrays},
      {"addArrays", "gradient accumulation", JS_addArrays},
      {"setNumThreads", "the thread pool", JS_setNumThreads},
      {"getNumThreads", "the thread pool", JS_getNumThreads},
      {"runtimeInfo", "runtime information", JS_runtimeInfo},
      {"setErrorClasses", "error classes", JS_setErrorClasses},
      {"parallelProbe", "the thread pool", JS_parallelProbe},
      {"teamProbe", "the thread pool", JS_teamProbe},
      {"parallelBlocksProbe", "the thread pool", JS_parallelBlocksProbe},
      {"distributedInit", "MPI", JS_distributedInit},
      {"distributedAllReduce", "an all-reduce", JS_distributedAllReduce},
      {"distributedBroadcast", "a broadcast", JS_distributedBroadcast},
      {"distributedBarrier", "a barrier", JS_distributedBarrier},
      {"distributedFinalize", "MPI", JS_distributedFinalize},
      {"distributedAbort", "MPI", JS_distributedAbort},
  };
  for (const Entry& e : entries) exports.Set(e.name, Guarded(env, e.name, e.op, e.fn));
  return exports;
}

}  // namespace

NODE_API_MODULE(eddy, Init)
