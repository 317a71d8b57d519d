# Warnings are errors for every target of the project; sanitizers on request.
add_library(crmsync_compile_options INTERFACE)
target_compile_options(crmsync_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  -Wmisleading-indentation)
# GCC's own warnings; clang (the fuzz build) does not know them and would
# turn "unknown warning option" into an error.
target_compile_options(crmsync_compile_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wlogical-op>)
target_compile_features(crmsync_compile_options INTERFACE cxx_std_20)
# GCC 12 reports false -Wrestrict errors inside libstdc++'s std::string
# operator+ when optimising (GCC bug 105329); the check stays on in Debug.
target_compile_options(crmsync_compile_options INTERFACE
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<NOT:$<CONFIG:Debug>>>:-Wno-restrict>)
# -Wnull-dereference is a middle-end warning that also fires inside Boost.Asio
# and libstdc++ once inlined at -O2; keep it where it speaks of our code.
target_compile_options(crmsync_compile_options INTERFACE $<$<CONFIG:Debug>:-Wnull-dereference>)

if(CRMSYNC_SANITIZE)
  # vptr is off: UBSan's vptr check raises false alarms inside cpprestsdk.
  set(_crmsync_san -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
                   -fno-sanitize-recover=undefined)
  target_compile_options(crmsync_compile_options INTERFACE ${_crmsync_san})
  target_link_options(crmsync_compile_options INTERFACE ${_crmsync_san})
endif()

if(CRMSYNC_FUZZ)
  # libFuzzer (tests/fuzz): every library the targets link is instrumented
  # for coverage and checked by ASan + UBSan; any UB report aborts, so the
  # fuzzer records it as a crash instead of printing and going on. The
  # fuzz executables add -fsanitize=fuzzer (libFuzzer's main) themselves.
  set(_crmsync_fuzz_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(crmsync_compile_options INTERFACE -fsanitize=fuzzer-no-link ${_crmsync_fuzz_san})
  target_link_options(crmsync_compile_options INTERFACE ${_crmsync_fuzz_san})
endif()
