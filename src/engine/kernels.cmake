# Per-file instruction-set flags for the SIMD kernels. Each file is compiled for its own ISA and
# chosen at run time (__builtin_cpu_supports), so the library still runs on any x86-64.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx2.cpp
    PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx512.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx512_tiles.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx512_quads.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx512_kquads.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx512_dequant.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx512_attention.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/ops/kernels_avx512_panels.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/ops/sampling_kernels_avx512.cpp
    PROPERTIES COMPILE_OPTIONS
    "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-Wno-uninitialized;$<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>")
# (GCC 12 warns about its own AVX-512 intrinsic headers: _mm512_undefined_* inside reductions;
# clang knows no -Wmaybe-uninitialized.)
endif()
