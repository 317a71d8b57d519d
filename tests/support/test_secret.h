// The one client secret every test gives crmsync (and the emulator it talks
// to) when it needs a valid one. Distinctive on purpose: the secret_scan
// test (tests/secret_scan) looks for it in everything the suite leaves
// behind (ctest's logs, the temporary folders' logs, stores, exports), where
// finding it means crmsync wrote a secret somewhere it must not.
//
// Tests of a deliberately wrong secret keep their own value and check their
// own output for it.
#pragma once

namespace crmsync::testing_support {

inline constexpr char kTestClientSecret[] = "crmsync-test-secret-7Hq2xVw9";

}  // namespace crmsync::testing_support
