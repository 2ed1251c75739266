# frozen_string_literal: true

# mtls - mutual TLS for Ruby, over libmtls.
#
#   require "mtls"
#   ctx = MTLS::Context.new(cert: "client.crt", key: "client.key", ca_file: "ca.crt")
#   MTLS::HTTP.start("localhost", 8443, context: ctx) { |http| puts http.get("/").body }
#
# The library is loaded from LIBMTLS_PATH when set (that file only), else
# from the installed libmtls.so.0.
require_relative "mtls/version"
require_relative "mtls/native"
require_relative "mtls/errors"
require_relative "mtls/interrupt"
require_relative "mtls/peer"
require_relative "mtls/context"
require_relative "mtls/connection"
require_relative "mtls/header_list"
require_relative "mtls/response"
require_relative "mtls/http"
require_relative "mtls/http_options"
require_relative "mtls/http_fields"
require_relative "mtls/http_plain"
require_relative "mtls/http_body"
require_relative "mtls/server"
