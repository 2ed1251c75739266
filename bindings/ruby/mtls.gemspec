# frozen_string_literal: true

require_relative "lib/mtls/version"

# The project's address: the repository of libmtls, which holds this
# binding in bindings/ruby, its NEWS and its issues.
homepage = "https://github.com/libmtls/libmtls"

Gem::Specification.new do |s|
  s.name = "mtls"
  s.version = MTLS::VERSION
  s.summary = "Mutual TLS clients and servers for Ruby, over libmtls"
  s.description = "An FFI binding of libmtls: MTLS::HTTP, Net::HTTP's API over mutual TLS " \
                  "(change the constant), a Faraday adapter, MTLS::Server, a Rack handler " \
                  "(rackup -s mtls) with mod_ssl's SSL_CLIENT_* env, peer identities, " \
                  "and errors that say why a handshake failed."
  s.authors = ["libmtls contributors"]
  s.homepage = homepage
  s.license = "MIT"
  s.metadata = {
    "homepage_uri" => homepage,
    "source_code_uri" => "#{homepage}/tree/main/bindings/ruby",
    "changelog_uri" => "#{homepage}/blob/main/NEWS",
    "bug_tracker_uri" => "#{homepage}/issues",
    "documentation_uri" => "#{homepage}/blob/main/bindings/ruby/README.md",
    "rubygems_mfa_required" => "true"
  }
  s.files = Dir["lib/**/*.rb"] + ["README.md"]
  s.require_paths = ["lib"]
  s.required_ruby_version = ">= 2.7"
  s.add_dependency "ffi", "~> 1.15"
  s.requirements << "libmtls.so.0 (libmtls, ABI #{MTLS::ABI_VERSION})"
  s.requirements << "rack 2.x for Rack::Handler::MTLS (rackup -s mtls)"
  s.requirements << "faraday >= 1.0, for require \"mtls/faraday\" only"
end
