# frozen_string_literal: true
require "net/http"
require "tempfile"
require "tmpdir"

# Shared by the tests of MTLS::RackServer and Rack::Handler::MTLS: a server
# on a free port of loopback, run in a thread of this process and stopped
# at the end of the block; what it logged; and the client programs (curl,
# rackup) found on PATH.  Tests that need Debian's ruby-rack or
# ruby-sinatra skip, saying which, only when it is not installed.
require_relative "helper"
require "mtls/rack_server"
require "open3"
require "rbconfig"

begin
  require "rack"
  require "rack/lint"
  require "rack/handler/mtls"
rescue LoadError
  nil # the tests that need them skip
end

module RackTest
  include MTLSTest

  LIB = File.expand_path("../lib", __dir__)

  # rack.errors and the server's messages, for the assertions.
  class Log
    def initialize
      @lock = Mutex.new
      @text = +""
    end

    def write(str)
      @lock.synchronize { @text << str.to_s }
      str.to_s.bytesize
    end

    def puts(str = "")
      write("#{str}\n")
      nil
    end

    def flush
      self
    end

    def to_s
      @lock.synchronize { @text.dup }
    end
  end

  def need_rack
    skip "ruby-rack not installed (apt-get install ruby-rack)" unless defined?(::Rack::Lint)
  end

  def need_program(name, env = nil)
    path = ENV[env].to_s if env
    path = nil if path&.empty?
    path ||= ENV["PATH"].split(":").map { |d| File.join(d, name) }.find { |f| File.executable?(f) }
    skip "#{name} not found" unless path
    path
  end

  # A server context that takes any body size (the handler's default).
  def rack_context(**opts)
    server_context(http_limits: { max_body: 0 }, **opts)
  end

  # Serves app on a free port until the block returns; yields the
  # server, its Log and a Queue of the connection errors it reported.
  def with_rack(app, context: rack_context, **opts)
    log = Log.new
    failures = Queue.new
    server = MTLS::RackServer.new(app, context: context, host: "127.0.0.1", port: 0,
                                       errors: log, on_error: ->(e) { failures << e }, **opts)
    thread = Thread.new { server.run }
    yield server, log, failures
  ensure
    server&.stop
    assert thread.join(20), "the server stopped" if thread
  end

  # Runs app with Rack::Handler::MTLS.run in a thread; yields the server.
  def with_handler(app, **options)
    need_rack
    log = Log.new
    started = Queue.new
    runner = Thread.new do
      ::Rack::Handler::MTLS.run(app, Host: "127.0.0.1", Port: 0, Silent: true, errors: log,
                                     **options) { |s| started << s }
    rescue Exception => e # rubocop:disable Lint/RescueException
      started << e
    end
    server = Timeout.timeout(10) { started.pop }
    raise server if server.is_a?(Exception)

    yield server, log
  ensure
    server.stop if server.is_a?(MTLS::RackServer)
    assert runner.join(20), "run returned after stop" if runner
  end

  # An app that keeps the env of each request (the last in #env).
  class Recorder
    attr_reader :envs

    def initialize(&answer)
      @envs = Queue.new
      @answer = answer
    end

    def call(env)
      @envs << env
      @answer ? @answer.call(env) : [200, { "Content-Type" => "text/plain" }, ["ok\n"]]
    end

    def env
      Timeout.timeout(5) { @envs.pop }
    end
  end

  # A request as text over a raw connection of the binding; returns what
  # came back until the server closed, or up to the given bytes.
  def raw(port, text, context: client_context, until_bytes: nil)
    conn = MTLS::Connection.connect("localhost", port, context: context)
    conn.write(text)
    out = +""
    Timeout.timeout(10) do
      loop do
        out << conn.readpartial(65_536)
        break if until_bytes && out.bytesize >= until_bytes
      end
    rescue EOFError, MTLS::Error
      nil
    end
    out
  ensure
    conn&.close
  end

  # curl over mTLS with the test PKI's client; returns [status, stdout, stderr].
  def curl(*args, cert: "client")
    bin = need_program("curl", "CURL_BIN")
    out, err, status = Open3.capture3(bin, "-sS", "--max-time", "20", "--cert", pki("#{cert}.crt"),
                                      "--key", pki("#{cert}.key"), "--cacert", pki("ca.crt"), *args)
    [status.exitstatus, out, err]
  end

  # What `openssl x509 -noout -<field>` says of a certificate, without
  # its "name=" prefix.
  def openssl_x509(file, field)
    out, status = Open3.capture2("openssl", "x509", "-in", file, "-noout", "-nameopt", "RFC2253", "-#{field}")
    skip "openssl not found" unless status.success?
    out.chomp.sub(/\A[^=]*=/, "")
  end

  def wait_for(seconds = 5)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    until yield
      return false if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.02
    end
    true
  end
end
