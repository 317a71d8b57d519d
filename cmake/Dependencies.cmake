# Every dependency comes from Debian 12 packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.11 CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(cpprestsdk CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
# The status endpoint's HTTP server (status/status_server.cpp only).
pkg_check_modules(MICROHTTPD REQUIRED IMPORTED_TARGET libmicrohttpd>=0.9.75)

# cpprestsdk does not bring OpenSSL, and its U() macro breaks GoogleTest and fmt
# unless _TURN_OFF_PLATFORM_STRING is defined: keep both facts in one place.
add_library(crmsync_cpprest INTERFACE)
target_link_libraries(crmsync_cpprest INTERFACE cpprestsdk::cpprest OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
target_compile_definitions(crmsync_cpprest INTERFACE _TURN_OFF_PLATFORM_STRING)

if(CRMSYNC_BUILD_TESTS AND NOT CRMSYNC_FUZZ)
  find_package(GTest CONFIG REQUIRED)
endif()

# Adds a static library for one room of the architecture.
function(crmsync_room name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC crmsync_compile_options ${ARG_DEPS})
endfunction()
