# Warnings for every target of ours. CI builds with GYRE_WERROR=ON (default).
function(gyre_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(GYRE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
