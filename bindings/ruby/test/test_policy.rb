# frozen_string_literal: true

require_relative "helper"

class TestPolicy < Minitest::Test
  include MTLSTest

  class Boom < StandardError; end

  # min_version:, max_version:, ciphers:, ciphersuites:, groups: as
  # OpenSSL::SSL::SSLContext names them: what the handshake used, read back.
  def test_tls_policy_options
    with_server do |server, _|
      # TLS 1.2: the groups must hold the P-256 certificates' curve too.
      ctx = client_context(max_version: :TLS1_2, ciphers: ["ECDHE-ECDSA-CHACHA20-POLY1305"],
                           groups: %w[P-256])
      MTLS::HTTP.start("localhost", server.port, context: ctx) do |http|
        assert_equal 200, http.get("/").status
        assert_equal "TLSv1.2", http.connection.tls_version
        assert_equal "ECDHE-ECDSA-CHACHA20-POLY1305", http.connection.cipher
        assert_equal "secp256r1", http.connection.group
      end
      ctx = client_context(min_version: :TLS1_3, ciphersuites: "TLS_AES_128_GCM_SHA256",
                           groups: "P-521")
      MTLS::HTTP.start("localhost", server.port, context: ctx) do |http|
        assert_equal 200, http.get("/").status
        assert_equal "TLS_AES_128_GCM_SHA256", http.connection.cipher
        assert_equal "secp521r1", http.connection.group
      end
    end
  end

  def test_tls_policy_bad_values
    e = assert_raises(MTLS::Error) { client_context(groups: %w[X25519 P-999]) }
    assert_match(/unknown key exchange group 'P-999'/, e.message)
    e = assert_raises(MTLS::Error) { client_context(ciphersuites: "TLS_NOPE") }
    assert_match(/unknown TLS 1.3 cipher suite 'TLS_NOPE'/, e.message)
    e = assert_raises(MTLS::Error) { client_context(min_version: :TLS1_3, max_version: :TLS1_2) }
    assert_match(/the TLS version range would be empty/, e.message)
    e = assert_raises(ArgumentError) { client_context(max_version: :TLS1_1) }
    assert_match(/max_version: :TLS1_1 is not :TLS1_2 or :TLS1_3/, e.message)
  end

  def test_server_verify_callback_accepts_and_rejects
    seen = Queue.new
    verify = lambda do |peer|
      seen << peer.common_name
      peer.common_name == "client"
    end
    with_server(context: server_context(verify: verify)) do |server, errors|
      assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: client_context).status
      assert_equal "client", seen.pop
      other = MTLS::Context.new(cert: pki("client-chain.crt"), key: pki("client-int.key"),
                                ca_file: pki("ca.crt"))
      assert_raises(MTLS::PeerRejectedError, ::IOError, SystemCallError) do
        MTLS.get("https://localhost:#{server.port}/", context: other)
      end
      refute_equal "client", seen.pop
      assert_equal MTLS::CODES[:NOT_ALLOWED], server_error(errors).code
    end
  end

  def test_server_verify_callback_rejects_with_reason
    with_server(context: server_context(verify: ->(_peer) { false })) do |server, errors|
      assert_raises(MTLS::PeerRejectedError, ::IOError, SystemCallError) do
        MTLS.get("https://localhost:#{server.port}/", context: client_context)
      end
      e = server_error(errors)
      assert_equal MTLS::CODES[:NOT_ALLOWED], e.code
      assert_match(/refused by the Ruby verify callback/, e.message)
    end
  end

  def test_server_verify_callback_raising_fails_closed
    with_server(context: server_context(verify: ->(_peer) { raise Boom, "no way" })) do |server, errors|
      assert_raises(MTLS::PeerRejectedError, ::IOError, SystemCallError) do
        MTLS.get("https://localhost:#{server.port}/", context: client_context)
      end
      e = server_error(errors)
      assert_kind_of Boom, e, "the callback's own exception reaches the caller"
      assert_equal "no way", e.message
    end
  end

  def test_client_verify_callback
    with_server do |server, _|
      ok = client_context(verify: ->(peer) { peer.common_name == "localhost" && peer.verified? })
      assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: ok).status

      no = client_context(verify: ->(_peer) { nil })
      e = assert_raises(MTLS::VerifyError) { MTLS.get("https://localhost:#{server.port}/", context: no) }
      assert_equal MTLS::CODES[:NOT_ALLOWED], e.code
      assert_match(/refused by the Ruby verify callback/, e.message)

      raising = client_context(verify: ->(_peer) { raise Boom, "pinned key changed" })
      e = assert_raises(Boom) { MTLS.get("https://localhost:#{server.port}/", context: raising) }
      assert_equal "pinned key changed", e.message

      throwing = client_context(verify: ->(_peer) { throw :out })
      e = assert_raises(MTLS::VerifyError) do
        catch(:out) { MTLS.get("https://localhost:#{server.port}/", context: throwing) }
      end
      assert_match(/verify callback/, e.message)
    end
  end

  def test_allow_lists
    with_server(context: server_context(allow: { cn: ["nobody", "cli*"] })) do |server, _|
      assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: client_context).status
    end
    with_server(context: server_context(allow: { cn: "nobody", ou: "finance" })) do |server, errors|
      assert_raises(MTLS::PeerRejectedError, ::IOError, SystemCallError) do
        MTLS.get("https://localhost:#{server.port}/", context: client_context)
      end
      e = server_error(errors)
      assert_kind_of MTLS::VerifyError, e
      assert_equal MTLS::CODES[:NOT_ALLOWED], e.code
      assert_match(/client certificate not allowed/, e.message)
      assert_match(/CN=client/, e.message)
    end
  end

  def test_client_pins_server_spki
    with_server do |server, _|
      spki = MTLS::HTTP.start("localhost", server.port, context: client_context, &:peer).spki_sha256
      pinned = client_context(allow: { spki: spki })
      assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: pinned).status
      wrong = client_context(allow: { spki: "0" * 64 })
      e = assert_raises(MTLS::VerifyError) { MTLS.get("https://localhost:#{server.port}/", context: wrong) }
      assert_equal MTLS::CODES[:NOT_ALLOWED], e.code
    end
  end

  def test_optional_client_certificate
    with_server(context: server_context(verify_mode: :optional),
                app: ->(_r, peer) { [200, {}, peer.provided? ? "with" : "without"] }) do |server, _|
      assert_equal "without", MTLS.get("https://localhost:#{server.port}/", ca_file: pki("ca.crt")).body
      assert_equal "with", MTLS.get("https://localhost:#{server.port}/", context: client_context).body
    end
  end
end
