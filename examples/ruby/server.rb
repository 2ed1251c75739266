#!/usr/bin/env ruby
# frozen_string_literal: true

# server.rb - an mTLS HTTP server with the Ruby binding: only clients with
# a certificate from the CA get in, and each is told who it is.
#
#   ruby -I bindings/ruby/lib examples/ruby/server.rb 8443 server.crt server.key ca.crt
#   curl --cert client.crt --key client.key --cacert ca.crt https://localhost:8443/
require "mtls"

port, cert, key, ca = ARGV
abort "usage: server.rb PORT CERT KEY CA" unless ca

context = MTLS::Context.new(cert: cert, key: key, ca_file: ca,
                            allow: { cn: ["client*"] })
server = MTLS::Server.new("127.0.0.1", port.to_i, context: context)
$stdout.sync = true
puts "listening on 127.0.0.1:#{server.port}"

# Served from a thread, so that the main thread can close the server on
# Ctrl-C and let the request being served finish.
serving = Thread.new do
  server.serve(on_error: ->(e) { warn "refused: #{e.message}" }) do |request, peer|
    warn "#{request.method} #{request.target} from #{peer.subject}"
    [200, { "Content-Type" => "text/plain" },
     "hello #{peer.common_name}\nissuer: #{peer.issuer}\nserial: #{peer.serial}\n"]
  end
end
begin
  serving.join
rescue Interrupt
  server.close
  serving.join
end
