#pragma once

namespace gyre {
// Set by CMake from project(VERSION).
#ifndef GYRE_VERSION
#define GYRE_VERSION "0.0.0"
#endif
inline constexpr const char *kGyreVersion = GYRE_VERSION;
}  // namespace gyre
