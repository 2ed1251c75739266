# frozen_string_literal: true

require_relative "helper"
require "net/http"
require "net/https"
require "uri"

class TestInterop < Minitest::Test
  include MTLSTest

  # The binding's client against examples/mtls-server (nginx's modes).
  def test_binding_client_against_mtls_server
    with_mtls_server("--cert", pki("server.crt"), "--key", pki("server.key"),
                     "--client-ca", pki("ca.crt")) do |port|
      MTLS::HTTP.start("localhost", port, context: client_context) do |http|
        2.times do
          r = http.get("/who")
          assert_equal 200, r.status
          assert_match(/verify: SUCCESS/, r.body)
          assert_match(/subject: CN=client/, r.body)
        end
      end
    end
  end

  def test_mtls_server_refuses_binding_client_without_certificate
    with_mtls_server("--cert", pki("server.crt"), "--key", pki("server.key"),
                     "--client-ca", pki("ca.crt")) do |port|
      ctx = MTLS::Context.new(ca_file: pki("ca.crt"))
      e = assert_raises(MTLS::PeerRejectedError) do
        MTLS::HTTP.start("localhost", port, context: ctx) { |h| h.get("/") }
      end
      assert_equal MTLS::CODES[:CERT_REJECTED], e.code
      assert_match(/server requires a client certificate and we sent none/, e.message)
    end
  end

  # Ruby's Net::HTTP, with the code of "Securing Ruby Applications with
  # mTLS" as written (its files: tests/pki/out/seed), against the binding's
  # server.
  def test_net_http_seed_article_against_binding_server
    seed = ->(f) { pki("seed/#{f}") }
    ctx = MTLS::Context.new(cert: seed.("server.crt"), key: seed.("server.key"),
                            ca_file: seed.("ca.crt"))
    with_server(context: ctx) do |server, _errors|
      client_cert_path = seed.("client.crt")
      client_key_path = seed.("client.key")
      server_ca_cert_path = seed.("ca.crt")
      server_url = URI.parse("https://localhost:#{server.port}/")
      client_cert = OpenSSL::X509::Certificate.new(File.read(client_cert_path))
      client_key = OpenSSL::PKey::RSA.new(File.read(client_key_path))
      http = Net::HTTP.new(server_url.host, server_url.port)
      http.use_ssl = true
      http.cert = client_cert
      http.key = client_key
      http.ca_file = server_ca_cert_path
      http.verify_mode = OpenSSL::SSL::VERIFY_PEER
      request = Net::HTTP::Get.new(server_url.request_uri)
      response = http.request(request)
      assert_equal "200", response.code
      assert_equal "GET / client\n", response.body
    end
  end

  def test_net_http_without_client_certificate_is_refused
    with_server do |server, errors|
      http = Net::HTTP.new("localhost", server.port)
      http.use_ssl = true
      http.ca_file = pki("ca.crt")
      http.verify_mode = OpenSSL::SSL::VERIFY_PEER
      assert_raises(OpenSSL::SSL::SSLError, EOFError, Errno::ECONNRESET) { http.get("/") }
      e = server_error(errors)
      assert_kind_of MTLS::VerifyError, e
      assert_equal MTLS::CODES[:NO_PEER_CERT], e.code
      assert_match(/no certificate/, e.message)
    end
  end

  def test_binding_client_against_nginx
    with_nginx(<<~NGINX) do |port|
      ssl_certificate #{pki('server.crt')}; ssl_certificate_key #{pki('server.key')};
      ssl_client_certificate #{pki('ca.crt')}; ssl_verify_client on;
      location / { return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\\n"; }
    NGINX
      r = MTLS::HTTP.start("localhost", port, context: client_context) { |h| h.get("/") }
      assert_equal 200, r.status
      assert_match(/verify=SUCCESS dn=CN=client/, r.body)
    end
  end
end
