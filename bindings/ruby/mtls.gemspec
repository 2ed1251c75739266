# frozen_string_literal: true

require_relative "lib/mtls/version"

Gem::Specification.new do |s|
  s.name = "mtls"
  s.version = MTLS::VERSION
  s.summary = "Mutual TLS clients and servers for Ruby, over libmtls"
  s.description = "An FFI binding of libmtls: MTLS::HTTP shaped like Net::HTTP, " \
                  "MTLS::Server, a Rack handler (rackup -s mtls) with mod_ssl's " \
                  "SSL_CLIENT_* env, peer identities, and errors that say why a " \
                  "handshake failed."
  s.authors = ["libmtls contributors"]
  s.license = "MIT"
  s.files = Dir["lib/**/*.rb"] + ["README.md"]
  s.require_paths = ["lib"]
  s.required_ruby_version = ">= 2.7"
  s.add_dependency "ffi", ">= 1.15"
  s.requirements << "libmtls.so.0 (libmtls, ABI #{MTLS::ABI_VERSION})"
  s.requirements << "rack 2.x for Rack::Handler::MTLS (rackup -s mtls)"
end
