# frozen_string_literal: true

require_relative "helper"

begin
  require "mtls/faraday"
rescue LoadError
  nil # no ruby-faraday: the tests skip
end

# Faraday with the :mtls adapter (lib/mtls/faraday.rb) against the
# binding's server, as the README shows it.
class TestFaraday < Minitest::Test
  include MTLSTest

  def setup
    skip "ruby-faraday not installed" unless defined?(MTLS::FaradayAdapter)
  end

  def faraday(port, **ssl)
    ssl = { client_cert: OpenSSL::X509::Certificate.new(File.read(pki("client.crt"))),
            client_key: OpenSSL::PKey.read(File.read(pki("client.key"))),
            ca_file: pki("ca.crt") }.merge(ssl)
    Faraday.new("https://localhost:#{port}", ssl: ssl, request: { timeout: 5 }) { |f| f.adapter :mtls }
  end

  def test_get_and_post
    app = ->(req, peer) { [201, { "X-Peer" => peer.common_name }, "#{req.method} #{req.target} #{req.body}"] }
    with_server(app: app) do |server, _|
      r = faraday(server.port).get("/orders", { q: "1" }, "X-Custom" => "yes")
      assert_equal 201, r.status
      assert_equal "GET /orders?q=1 ", r.body
      assert_equal "client", r.headers["x-peer"]
      r = faraday(server.port).post("/orders", "a=1")
      assert_equal "POST /orders a=1", r.body
    end
  end

  def test_streamed_body
    with_server(app: ->(_req, _peer) { [200, {}, "x" * 100_000] }) do |server, _|
      pieces = []
      faraday(server.port).get("/") { |req| req.options.on_data = ->(chunk, _size) { pieces << chunk } }
      assert_operator pieces.size, :>, 1
      assert_equal 100_000, pieces.sum(&:bytesize)
    end
  end

  def test_errors_are_faradays_with_ours_as_cause
    with_server do |server, _|
      e = assert_raises(Faraday::SSLError) { faraday(server.port, ca_file: pki("other-ca.crt")).get("/") }
      assert_kind_of MTLS::VerifyError, e.wrapped_exception
      assert_match(/server certificate not trusted/, e.message)
    end
    e = assert_raises(Faraday::ConnectionFailed) { faraday(free_port).get("/") }
    assert_kind_of MTLS::ConnectionRefused, e.wrapped_exception
    assert_match(/Connection refused/, e.message)
  end
end
