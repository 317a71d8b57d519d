// ISO 8601 date and date-time text <-> seconds since the Unix epoch, over the
// whole Dataverse range (1753..9999; std::chrono::system_clock's nanoseconds
// stop at 2262). Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]Z" and
// "+HH:MM"/"-HH:MM" offsets. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crmsync::emulator {

std::optional<std::int64_t> ParseIsoSeconds(std::string_view text);
// "2025-03-31T10:00:00Z"
std::string FormatIsoSeconds(std::int64_t seconds);

}  // namespace crmsync::emulator
