# frozen_string_literal: true

require "uri"
require_relative "../mtls"

module MTLS
  # Serves a Rack app over mTLS, threaded as Puma 5 is (Rack::Handler::MTLS
  # runs it for rackup):
  #
  #   ctx = MTLS::Context.new(cert: "server.crt", key: "server.key",
  #                           ca_file: "ca.crt")
  #   server = MTLS::RackServer.new(app, host: "0.0.0.0", port: 8443, context: ctx)
  #   trap("TERM") { server.stop }
  #   server.run
  #
  # Threads: a pool of min_threads..max_threads (Puma's 0..5), spawned as
  # work waits and trimmed when idle.  One thread accepts, and only while
  # the pool has a free thread, so that the kernel's backlog holds the
  # rest.  Sockets are non-blocking: libmtls's calls never wait, and hold
  # the GVL only while they work (a handshake's gives it up, so that
  # handshakes use every core); the waits are Ruby's.  A connection holds
  # a thread while its handshake, a request or a response is under way.
  # Between requests it holds none: when the next request has not begun,
  # its thread waits up to FAST_WAIT for it (Puma's fast track), and
  # otherwise parks it in the reactor, one thread selecting on every idle
  # connection, which hands it back to the pool when it becomes readable.
  # After MAX_FAST_INLINE requests in a row while other work waits, a
  # connection is parked even if its next request is already there: a
  # busy keep-alive client never keeps a thread from the others.  The
  # deadlines are the context's (mtls_http_ms_left): the handshake
  # timeout, http_limits: header_timeout for a request's head (the first
  # one's too), idle_timeout between requests.
  #
  # #stop (safe in a trap handler) stops gracefully: no more accepts, idle
  # connections closed, the requests under way answered with
  # "Connection: close"; after shutdown_timeout, or a second #stop, the
  # connections still busy are woken and their threads ended.
  class RackServer
    FAST_WAIT = 0.2        # Puma's FAST_TRACK_KA_TIMEOUT
    MAX_FAST_INLINE = 10   # Puma's max_fast_inline
    READ_FLAGS = Native::HTTP_NOWAIT | Native::HTTP_STREAM
    INTERRUPTED = CODES.fetch(:INTERRUPTED)
    INVALID = CODES.fetch(:INVALID)

    require_relative "rack_server/identity"
    require_relative "rack_server/pool"
    require_relative "rack_server/reactor"
    require_relative "rack_server/input"
    require_relative "rack_server/hijack_io"
    require_relative "rack_server/client"
    require_relative "rack_server/env"
    require_relative "rack_server/response"
    include Env
    include Response

    attr_reader :app, :context, :host, :port, :min_threads, :max_threads

    # The address the listener is bound to ("127.0.0.1" for "localhost").
    def address
      @listener.local_address.ip_address
    end

    # context: a server MTLS::Context (our certificate, the client CAs,
    # verify_mode:, allow:).  errors: the IO of rack.errors and of the
    # server's messages; on_error: gets each connection's failure (a
    # refused handshake, a bad request) as an MTLS::Error (default: one
    # line on errors).
    def initialize(app, context:, host: "127.0.0.1", port: 8443, min_threads: 0,
                   max_threads: 5, shutdown_timeout: 30, errors: $stderr,
                   on_error: nil, backlog: 1024)
      @app = app
      @context = context
      @errors = errors
      @on_error = on_error || ->(e) { log("mtls: #{e.message}") }
      @min_threads = Integer(min_threads)
      @max_threads = Integer(max_threads)
      @shutdown_timeout = shutdown_timeout.to_f
      @listener = TCPServer.new(host, Integer(port))
      @listener.listen(backlog)
      @host = host
      @port = @listener.local_address.ip_port
      ptr = Native.mtls_server_new(context.to_ptr)
      raise MTLS.error_from_config(context.to_ptr) if ptr.null?

      @server_ptr = FFI::AutoPointer.new(ptr, Client::RELEASE)
      @proto_env = proto_env.freeze
      @lock = Mutex.new
      @clients = {}.compare_by_identity
      @accepted = 0
      @stopping = false
      @force = false
      @running = false
      @stop_r, @stop_w = IO.pipe
    end

    # Serves until #stop; then stops as #stop says and returns.
    def run
      raise ::IOError, "MTLS::RackServer#run: already run" if @running

      @running = true
      @pool = Pool.new(@min_threads, @max_threads) { |client, scratch| process(client, scratch) }
      @reactor = Reactor.new(@pool)
      @acceptor = Thread.new do
        Thread.current.name = "mtls-rack acceptor"
        accept_loop
      end
      @stop_r.read(1) until @stopping
      shut_down
      self
    end

    # Stops gracefully; a second call stops at once.  Safe in a trap
    # handler (it only sets flags and writes to a pipe).
    def stop
      @force = true if @stopping
      @stopping = true
      @stop_w.write_nonblock("x", exception: false)
      nil
    rescue ::IOError
      nil # stopped already
    end

    def stopping?
      @stopping
    end

    # Counts, for monitoring and tests: connections accepted, connections
    # open (parked ones among them), threads.
    def stats
      { connections: @accepted, open: @clients.size, parked: @reactor&.size.to_i,
        threads: @pool&.spawned.to_i, backlog: @pool&.backlog.to_i }
    end

    # (internal) A client no longer the server's: closed or hijacked.
    def forget(client)
      @lock.synchronize { @clients.delete(client) }
    end

    # (internal) rack.errors and the server's own messages.
    def log(message)
      @errors.write("#{message}\n")
    rescue StandardError
      nil
    end

    private

    def proto_env
      rack_version = defined?(::Rack::VERSION) ? ::Rack::VERSION : [1, 3]
      wildcard = @host.nil? || ["", "0.0.0.0", "::", "[::]"].include?(@host.to_s)
      { "rack.version" => rack_version, "rack.errors" => @errors,
        "rack.multithread" => @max_threads > 1, "rack.multiprocess" => false,
        "rack.run_once" => false, "rack.url_scheme" => "https", "HTTPS" => "on",
        "rack.hijack?" => true, "rack.input" => NullInput::INSTANCE,
        "SCRIPT_NAME" => "", "QUERY_STRING" => "",
        "SERVER_NAME" => (wildcard ? "localhost" : @host.to_s).freeze,
        "SERVER_PORT" => @port.to_s.freeze, "SERVER_SOFTWARE" => "mtls-ruby #{VERSION}",
        "GATEWAY_INTERFACE" => "CGI/1.2" }
    end

    def accept_loop
      until @stopping
        @pool.wait_until_not_full { @stopping }
        break if @stopping

        accept_one or break
      end
    end

    # Takes the next connection to the pool; false once the listener is
    # closed.
    def accept_one
      sock = @listener.accept
      begin
        client = Client.new(sock, @server_ptr, self)
      rescue StandardError
        sock.close
        raise
      end
      @lock.synchronize { @clients[client] = true }
      @accepted += 1
      @pool << client
      true
    rescue ::IOError
      false # the listener was closed: stopping
    rescue MTLS::Error, SystemCallError => e
      return false if @stopping

      log("mtls: accept failed: #{e.message}") # out of descriptors: wait a little
      sleep 0.1
      true
    end

    # A pool thread's work: the connection's requests, as long as they
    # come without waiting; then it is parked or closed.  A client the
    # reactor gave back past its deadline is ended by libmtls's call as
    # the timeout says: an idle one quietly (0), a handshake or a first
    # request with an error.
    def process(client, scratch)
      inline = 0
      loop do
        rc = client.read_request(scratch.req_out)
        if rc == 1
          inline += 1
          last = inline >= MAX_FAST_INLINE && others_wait?
          keep = serve(client, scratch.req_out.read_pointer, scratch, last)
          return if client.hijacked?
          return client.close if !keep || last || @stopping
        elsif rc == Native::WANT_POLLIN
          next if fast_wait?(inline) && client.io.wait_readable(FAST_WAIT)

          return park(client)
        elsif rc.zero?
          return client.close
        else
          return failed(client)
        end
      end
    rescue Exception => e # rubocop:disable Lint/RescueException
      # A Ruby verify callback's exception, a failed read of the env: the
      # connection ends, the server goes on.
      client.broken = true
      if e.is_a?(MTLS::Error)
        @on_error.call(e) unless @stopping
      else
        app_error(client.current_env, e)
      end
      client.close unless client.hijacked?
    end

    # Whether to wait here for the next request rather than park: as Puma,
    # unless MAX_FAST_INLINE requests were served while others wait.
    def fast_wait?(inline)
      !@stopping && (inline < MAX_FAST_INLINE || !others_wait?)
    end

    # Whether work waits for a thread: in the pool's queue, or, while every
    # thread is busy, in the listen queue (a client not yet accepted).  As
    # Puma, a connection that has had MAX_FAST_INLINE requests in a row
    # then ends with "Connection: close" (its next request may already be
    # buffered, so it cannot be parked), or is parked if none has come.
    def others_wait?
      return false if @stopping
      return true if @pool.backlog.positive?

      @pool.busy >= @max_threads && !@listener.wait_readable(0).nil?
    rescue ::IOError
      false # the listener is closed: stopping
    end

    # Into the reactor until the client sends, or libmtls's deadline.
    def park(client)
      ms = client.ms_left
      client.deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) +
                        (ms.negative? ? Float::INFINITY : ms / 1000.0 + 0.005)
      client.close unless !@stopping && @reactor.add(client)
    end

    # read_request failed: libmtls answered a bad request itself, or the
    # handshake or the connection failed.
    def failed(client)
      client.broken = true
      @on_error.call(client.error) unless @stopping
      client.close
    end

    # One request: the env, the app, the response.  True when the
    # connection can carry the next one.
    def serve(client, req, scratch, last)
      client.count_request
      base = client.env ||= connection_env(client)
      env = base.dup
      client.current_env = env
      fill_env(env, client, req, scratch)
      input = env[RACK_INPUT]
      input = nil if input.equal?(NullInput::INSTANCE)
      status, headers, body = call_app(env)
      return false if client.hijacked? # the app has the connection

      input&.drain(env)
      answer(client, req, env, status, headers, body, scratch, last)
    ensure
      close_body(body, env)
      input&.finish
      Native.mtls_http_req_free(req)
    end

    def answer(client, req, env, status, headers, body, scratch, last)
      respond(client, req, env, status, headers, body, scratch, last)
    rescue ResponseError, ArgumentError, TypeError, NoMethodError => e
      app_error(env, e)
      # Nothing sent yet: a 500 instead; else the connection ends here.
      status, headers, body = ERROR_500
      client.respond(req, status, scratch.header_array(["Content-Type: text/plain", CLOSE_LINE]),
                     body[0]) or client.broken = true
      false
    rescue StandardError => e # an exception of the body's #each
      app_error(env, e)
      client.broken = true
      false
    end

    def call_app(env)
      @app.call(env)
    rescue Exception => e # rubocop:disable Lint/RescueException
      # As Puma: whatever the app raises is a 500, and the server goes on.
      app_error(env, e)
      ERROR_500
    end

    def close_body(body, env)
      body.close if body.respond_to?(:close)
    rescue StandardError => e
      app_error(env, e)
    end

    def app_error(env, error)
      where = env ? "#{env[REQUEST_METHOD]} #{env[REQUEST_URI]} from #{env['REMOTE_ADDR']}" : "a request"
      trace = error.backtrace&.first(20)&.map { |l| "\n\t#{l}" }&.join
      log("mtls: Rack app error handling #{where}: #{error.class}: #{error.message}#{trace}")
    end

    # The connection's part of each env: the constants, the client's
    # identity and address.
    def connection_env(client)
      env = @proto_env.merge(Identity.of(client.ptr))
      env.merge!(Identity.connection(client.ptr))
      # The client a load balancer's PROXY header named, else the socket's.
      env["REMOTE_ADDR"] = Native.mtls_peer_address(client.ptr) || client.remote_addr
      env["rack.hijack"] = client
      env.freeze
    end

    def shut_down
      @listener.close
      @acceptor.join
      @reactor.stop.each(&:close)
      threads = @pool.shutdown(0)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + @shutdown_timeout
      until threads.empty? || @force ||
            Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        threads.reject! { |t| t.join(0.05) }
      end
      # Past the grace: the threads still serving are ended (their waits
      # are Ruby's), and their connections with them.
      threads.each(&:kill)
      threads.each { |t| t.join(2) }
      @lock.synchronize { @clients.keys }.each(&:close)
    ensure
      @stop_r.close
      @stop_w.close
    end
  end
end
