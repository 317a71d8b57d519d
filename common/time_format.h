// UTC timestamps in the one text form the product uses everywhere:
// ISO 8601 "2026-11-27T19:14:19Z" (or with milliseconds ".123Z").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace crmsync {

std::string FormatUtc(std::chrono::system_clock::time_point t, bool with_millis = false);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff]Z", "...+HH:MM"/"-HH:MM" offsets, and "YYYY-MM-DD" (midnight UTC);
// nullopt for anything else, and for a date system_clock cannot hold (before 1678 or after 2261).
std::optional<std::chrono::system_clock::time_point> ParseUtc(std::string_view text);

}  // namespace crmsync
