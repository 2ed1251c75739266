# frozen_string_literal: true

module MTLS
  # The version of this gem.
  VERSION = "0.1.0"
  # The libmtls ABI (MTLS_ABI_VERSION of include/mtls.h) this binding was
  # written for; the loaded library's mtls_abi_version() must equal it.
  ABI_VERSION = 1
  # The installed soname (libtool -version-info 0:0:0 in configure.ac).
  SONAME = "libmtls.so.0"
end
