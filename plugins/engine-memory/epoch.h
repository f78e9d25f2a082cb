// Stream epochs: 8 random letters, the same shape Centrifuge's memory engine
// uses, so clients and tools that pattern-match epochs see nothing unusual.
#pragma once

#include <string>

namespace gyre::memory {

inline constexpr size_t kEpochLen = 8;

// Draws from the kernel CSPRNG. An epoch must not repeat after a restart or a
// meta-TTL expiry, or a client could "recover" across two different streams.
std::string new_epoch();

}  // namespace gyre::memory
