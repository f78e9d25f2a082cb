# Gyre plugin SDK package: the Gyre::sdk target (the header gyre/plugin.h)
# and gyre_add_plugin() (see GyrePlugin.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/GyreTargets.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/GyrePlugin.cmake)
