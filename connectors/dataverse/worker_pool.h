// WorkerPool: a fixed set of threads that run submitted tasks, owned by the
// DataverseConnector for its whole lifetime. It is the one place where the
// connector's writes get their concurrency: a Write hands tasks to the pool
// and waits for them, so no call starts threads of its own.
//
// The threads start in the constructor and are joined in the destructor,
// after every task already submitted has run (a Write waiting for its tasks
// is never left hanging). Tasks must not throw and must not wait for other
// tasks of the same pool.
//
// Thread-safety: Submit is safe from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace crmsync::dataverse {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);  // at least one thread
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task);
  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace crmsync::dataverse
