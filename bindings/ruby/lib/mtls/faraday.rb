# frozen_string_literal: true

# Faraday over mTLS: its Net::HTTP adapter with MTLS::HTTP in Net::HTTP's
# place, registered as :mtls.
#
#   require "mtls/faraday"
#   conn = Faraday.new("https://localhost:8443",
#                      ssl: { client_cert: cert, client_key: key, ca_file: "ca.crt" }) do |f|
#     f.adapter :mtls
#   end
#   conn.get("/orders").body
#
# Faraday's ssl: options, timeouts and streaming (on_data) are the Net::HTTP
# adapter's; its errors are Faraday's (Faraday::SSLError for a refused
# handshake, Faraday::ConnectionFailed, Faraday::TimeoutError), with the
# MTLS::Error as their cause.
require "faraday"
require "mtls"

module MTLS
  class FaradayAdapter < Faraday::Adapter::NetHttp
    def net_http_connection(env)
      if env[:request][:proxy]
        raise ArgumentError, "MTLS::FaradayAdapter does not go through an HTTP proxy"
      end

      HTTP.new(env[:url].hostname, env[:url].port || HTTP.default_port)
    end
  end

  Faraday::Adapter.register_middleware(mtls: FaradayAdapter)
end
