# frozen_string_literal: true

require_relative "helper"
require "fileutils"
require "tmpdir"

# MTLS::Context.new(..., watch: SECONDS): a client context whose
# certificate files are rotated presents the new certificate on its next
# connection; a broken key is refused once and the last good pair kept.
class TestWatch < Minitest::Test
  include MTLSTest

  INTERVAL = 0.05

  def setup
    @dir = Dir.mktmpdir("mtls-watch")
    install("client")
  end

  def teardown
    FileUtils.rm_rf(@dir)
  end

  # The PKI's NAME.crt and NAME.key renamed over c.crt and c.key.
  def install(name)
    %w[crt key].each do |ext|
      FileUtils.cp(pki("#{name}.#{ext}"), File.join(@dir, "c.#{ext}.new"))
      File.rename(File.join(@dir, "c.#{ext}.new"), File.join(@dir, "c.#{ext}"))
    end
  end

  def watched_context
    MTLS::Context.new(cert: File.join(@dir, "c.crt"), key: File.join(@dir, "c.key"),
                      ca_file: pki("ca.crt"), session_cache: 0, watch: INTERVAL)
  end

  # The CN the server saw of one connection's client certificate.
  def seen_by(server, ctx)
    conn = MTLS::Connection.connect("localhost", server.port, context: ctx)
    conn.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    conn.read.lines.last.split.last
  ensure
    conn&.close
  end

  def test_rotated_client_certificate_used_by_next_connection
    ctx = watched_context
    with_server do |server, _errors|
      assert_equal "client", seen_by(server, ctx)
      install("client-ou")
      sleep INTERVAL * 2
      assert_equal "payment-service", seen_by(server, ctx)
    end
    assert_equal({ ok: 1, failed: 0 }, ctx.reload_counts)
  end

  def test_broken_key_refused_once_and_last_pair_kept
    ctx = watched_context
    with_server do |server, _errors|
      File.write(File.join(@dir, "c.key"),
                 "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
      3.times do
        sleep INTERVAL * 2
        assert_equal "client", seen_by(server, ctx)
      end
    end
    assert_equal({ ok: 0, failed: 1 }, ctx.reload_counts)
  end

  def test_watch_needs_files_and_seconds
    assert_nil client_context.reload_counts
    assert_raises(ArgumentError) { client_context(watch: 0) }
    assert_raises(ArgumentError) { client_context(watch: "1") }
    e = assert_raises(MTLS::ConfigError) do
      MTLS::Context.new(ca: File.read(pki("ca.crt")), watch: 1)
    end
    assert_match(/no file to watch/, e.message)
  end
end
