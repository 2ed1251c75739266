# frozen_string_literal: true

require_relative "rack_helper"

# The Rack env MTLS::RackServer builds: Puma's keys, and the client's
# identity under mod_ssl's names, each value checked against what
# `openssl x509` says of the test PKI's certificates.
class TestRackEnv < Minitest::Test
  include RackTest

  def test_env_of_a_verified_client
    app = Recorder.new
    with_rack(app) do |server, _log, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        r = http.request("GET", "/a/b%20c?x=1&y=2", nil,
                         [%w[X-Dup one], %w[X-Dup two], %w[Accept-Language fr], %w[Content-Type text/x]])
        assert_equal 200, r.status
      end
      env = app.env
      crt = pki("client.crt")
      cert = OpenSSL::X509::Certificate.new(File.read(crt))
      {
        "HTTPS" => "on", "rack.url_scheme" => "https", "SSL_CLIENT_VERIFY" => "SUCCESS",
        "SSL_CLIENT_S_DN" => openssl_x509(crt, "subject"),
        "SSL_CLIENT_I_DN" => openssl_x509(crt, "issuer"),
        "SSL_CLIENT_M_SERIAL" => openssl_x509(crt, "serial"),
        "SSL_CLIENT_V_START" => openssl_x509(crt, "startdate"),
        "SSL_CLIENT_V_END" => openssl_x509(crt, "enddate"),
        "SSL_CLIENT_M_VERSION" => "3",
        "SSL_CLIENT_S_DN_CN" => "client", "SSL_CLIENT_S_DN_OU" => "testers",
        "SSL_CLIENT_S_DN_O" => "libmtls test", "SSL_CLIENT_I_DN_CN" => "libmtls Test Root CA",
        "SSL_CLIENT_SAN_DNS_0" => "client.example.org",
        "SSL_CLIENT_SAN_URI_0" => "spiffe://example.org/ns/test/sa/client",
        "SSL_CLIENT_SAN_Email_0" => "client@example.org", "SSL_CLIENT_SAN_IP_0" => "127.0.0.2",
        "SSL_PROTOCOL" => "TLSv1.3", "SSL_SESSION_RESUMED" => "Initial",
        "REQUEST_METHOD" => "GET", "SCRIPT_NAME" => "", "PATH_INFO" => "/a/b%20c",
        "QUERY_STRING" => "x=1&y=2", "REQUEST_URI" => "/a/b%20c?x=1&y=2",
        "SERVER_NAME" => "localhost", "SERVER_PORT" => server.port.to_s,
        "SERVER_PROTOCOL" => "HTTP/1.1", "HTTP_VERSION" => "HTTP/1.1",
        "REMOTE_ADDR" => "127.0.0.1", "HTTP_HOST" => "localhost:#{server.port}",
        "HTTP_X_DUP" => "one, two", "HTTP_ACCEPT_LANGUAGE" => "fr", "CONTENT_TYPE" => "text/x",
        "rack.multithread" => true, "rack.multiprocess" => false, "rack.run_once" => false,
        "rack.hijack?" => true
      }.each { |key, value| assert_equal value, env[key], key }
      assert_match(/\A[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT\z/, env["SSL_CLIENT_V_START"])
      assert_match(/\A\h+\z/, env["SSL_CLIENT_M_SERIAL"])
      assert_equal cert.serial.to_s(16), env["SSL_CLIENT_M_SERIAL"]
      assert_equal cert.to_der, OpenSSL::X509::Certificate.new(env["SSL_CLIENT_CERT"]).to_der
      assert_kind_of OpenSSL::X509::Certificate, env["puma.peercert"]
      assert_equal cert.to_der, env["puma.peercert"].to_der
      assert_equal "client", env["mtls.peer"].common_name
      refute_empty env["SSL_CIPHER"]
      refute env.key?("HTTP_CONTENT_TYPE")
      assert_respond_to env["rack.input"], :read
      assert_equal "", env["rack.input"].read
      assert_kind_of Array, env["rack.version"]
      env.each do |key, value|
        next if key.include?(".")

        assert_kind_of String, value, key
      end
    end
  end

  def test_env_of_a_client_without_certificate_under_optional
    app = Recorder.new
    with_rack(app, context: rack_context(verify_mode: :optional)) do |server, _, _|
      r = MTLS.get("https://localhost:#{server.port}/", ca_file: pki("ca.crt"))
      assert_equal 200, r.status
      env = app.env
      assert_equal "NONE", env["SSL_CLIENT_VERIFY"]
      assert_equal "on", env["HTTPS"]
      %w[SSL_CLIENT_S_DN SSL_CLIENT_I_DN SSL_CLIENT_CERT SSL_CLIENT_M_SERIAL puma.peercert].each do |key|
        refute env.key?(key), key
      end
    end
  end

  def test_env_of_an_untrusted_client_under_optional_no_ca
    app = Recorder.new
    with_rack(app, context: rack_context(verify_mode: :optional_no_ca)) do |server, _, _|
      %w[other-client selfsigned].each do |name|
        ctx = MTLS::Context.new(cert: pki("#{name}.crt"), key: pki("#{name}.key"), ca_file: pki("ca.crt"))
        assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: ctx).status
        env = app.env
        reason = openssl_verify_reason(pki("#{name}.crt"))
        assert_equal "FAILED:#{reason}", env["SSL_CLIENT_VERIFY"], name
        assert_equal openssl_x509(pki("#{name}.crt"), "subject"), env["SSL_CLIENT_S_DN"]
        assert_equal openssl_x509(pki("#{name}.crt"), "issuer"), env["SSL_CLIENT_I_DN"]
      end
    end
  end

  # The identity of one certificate is decoded once: the same frozen
  # values come back on every connection of that client.
  def test_identity_made_once_per_certificate
    app = Recorder.new
    with_rack(app) do |server, _, _|
      2.times { MTLS.get("https://localhost:#{server.port}/", context: client_context) }
      first = app.env
      second = app.env
      assert_same first["puma.peercert"], second["puma.peercert"]
      assert_same first["SSL_CLIENT_CERT"], second["SSL_CLIENT_CERT"]
      assert first["puma.peercert"].frozen?
    end
  end

  def test_host_forms_and_header_names
    app = Recorder.new
    with_rack(app) do |server, _, _|
      raw(server.port, "GET /x HTTP/1.1\r\nHost: [::1]:8443\r\nX_Under: u\r\nX-Under: d\r\n" \
                       "X_Only: o\r\nConnection: close\r\n\r\n")
      env = app.env
      assert_equal "[::1]", env["SERVER_NAME"]
      assert_equal "8443", env["SERVER_PORT"]
      assert_equal "d", env["HTTP_X_UNDER"], "a dashed name wins over its underscored twin"
      assert_equal "o", env["HTTP_X_ONLY"]
      raw(server.port, "GET https://example.org/p?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n")
      env = app.env
      assert_equal "/p", env["PATH_INFO"]
      assert_equal "q=1", env["QUERY_STRING"]
      assert_equal "example.org", env["SERVER_NAME"]
      assert_equal "443", env["SERVER_PORT"]
      raw(server.port, "GET / HTTP/1.0\r\n\r\n")
      env = app.env
      assert_equal "HTTP/1.0", env["SERVER_PROTOCOL"]
      assert_equal "127.0.0.1", env["SERVER_NAME"]
      assert_equal server.port.to_s, env["SERVER_PORT"]
    end
  end

  private

  def openssl_verify_reason(file)
    out, = Open3.capture2e("openssl", "verify", "-CAfile", pki("ca.crt"), file)
    out[/error \d+ at \d+ depth lookup: (.*)$/, 1] or flunk "openssl verify said: #{out}"
  end
end
