# Gyre's own plugins use the very function the installed SDK offers.
include(${CMAKE_CURRENT_LIST_DIR}/../sdk/cmake/GyrePlugin.cmake)
