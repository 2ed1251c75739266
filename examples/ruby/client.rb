#!/usr/bin/env ruby
# frozen_string_literal: true

# client.rb - an mTLS HTTP client with the Ruby binding.
#
#   ruby -I bindings/ruby/lib examples/ruby/client.rb https://localhost:8443/ \
#       client.crt client.key ca.crt
#
# The library comes from LIBMTLS_PATH, else the installed libmtls.so.0.
require "mtls"

url, cert, key, ca = ARGV
abort "usage: client.rb URL CERT KEY CA" unless ca
uri = URI(url)

context = MTLS::Context.new(cert: cert, key: key, ca_file: ca)
begin
  MTLS::HTTP.start(uri.host, uri.port, context: context,
                                       open_timeout: 10, read_timeout: 30) do |http|
    response = http.get(uri.request_uri, "Accept" => "text/plain")
    puts "server: #{http.peer.subject} (#{http.connection.tls_version})"
    puts "status: #{response.code} #{response.message}"
    puts response.body
  end
rescue MTLS::VerifyError => e
  abort "the server's certificate did not pass: #{e.message}"
rescue MTLS::PeerRejectedError => e
  abort "the server refused our certificate: #{e.message}"
rescue MTLS::Error => e
  abort "#{e.class}: #{e.message}"
end
