# frozen_string_literal: true

require "uri"

module MTLS
  # A request read by MTLS::Server#serve.
  class Request
    attr_reader :method, :target, :http_version, :header_list, :body

    def initialize(method, target, version, header_list, body)
      @method = method
      @target = target
      @http_version = version
      @header_list = header_list.freeze
      @body = body
      freeze
    end

    def path
      @target.split("?", 2).first
    end

    def query
      @target.split("?", 2)[1]
    end

    include HeaderList

    def inspect
      "#<MTLS::Request #{@method} #{@target}>"
    end
  end

  # An mTLS server: accept connections yourself, or serve HTTP/1.1.
  #
  #   server = MTLS::Server.new("127.0.0.1", 8443, context: ctx)
  #   server.serve do |request, peer|
  #     [200, { "Content-Type" => "text/plain" }, "hello #{peer.common_name}\n"]
  #   end
  #
  # The context needs our certificate and key; with ca_file: clients must
  # present a certificate from that CA (verify_mode: :optional to make it
  # optional).  Port 0 picks a free port: see #port.
  class Server
    attr_reader :context

    def initialize(host, port, context:, backlog: 0)
      @context = context
      ptr = Native.mtls_server_new(context.to_ptr)
      raise MTLS.error_from_config(context.to_ptr) if ptr.null?

      @ptr = FFI::AutoPointer.new(ptr, Native.method(:mtls_free))
      if Native.mtls_listen(@ptr, host&.to_s, port.to_s, backlog) != 0
        err = MTLS.error_from_conn(@ptr)
        @ptr.free
        raise err
      end
      @port = Native.mtls_local_port(@ptr)
      @lock = Mutex.new
      @accepting = Mutex.new
      @closing = false
      @connections = {}.compare_by_identity # Connection => Thread
    end

    attr_reader :port

    # Waits for the next client and returns its MTLS::Connection; the
    # handshake happens on its first read or write, or Connection#handshake.
    # Returns nil once the server is closed.
    def accept
      out = FFI::MemoryPointer.new(:pointer)
      rc = @accepting.synchronize do
        return nil if @closing || @ptr.nil?

        MTLS.blocking(@ptr) do
          MTLS.retry_interrupted(@ptr) { Native.mtls_accept(@ptr, out) }
        end
      end
      if rc != 0
        return nil if @closing

        raise MTLS.error_from_conn(@ptr)
      end
      Connection.new(out.read_pointer, @context)
    end

    # Serves HTTP/1.1: each connection in a thread of its own, each request
    # passed with the client's MTLS::Peer to the block, which returns
    # [status, headers, body] (body: a String or an Array of them).  An
    # exception in the block answers 500.  Returns when #close is called.
    # on_error: gets each connection's failure (handshake refused, bad
    # request, ...) as an MTLS::Error; the default prints it to $stderr.
    def serve(on_error: nil, &app)
      raise ArgumentError, "MTLS::Server#serve needs a block" unless app

      on_error ||= ->(e) { warn "mtls server: #{e.message}" }
      while (conn = accept)
        thread = Thread.new(conn) { |c| serve_connection(c, app, on_error) }
        @lock.synchronize { @connections[conn] = thread unless conn.closed? }
      end
    ensure
      threads = @lock.synchronize { @connections.values }
      threads.each(&:join)
    end

    # Stops accepting, wakes the connections being served, frees the server.
    def close
      @lock.synchronize do
        return if @closing

        @closing = true
        Native.mtls_wake(@ptr) if @ptr
        @connections.each_key(&:wake)
      end
      @accepting.synchronize do
        @ptr&.free
        @ptr = nil
      end
      nil
    end

    def closed?
      @closing
    end

    private

    def serve_connection(conn, app, on_error)
      req_out = FFI::MemoryPointer.new(:pointer)
      loop do
        rc = conn.call do |p|
          MTLS.retry_interrupted(p) { Native.mtls_http_read_request(p, 0, req_out) }
        end
        if rc.negative?
          on_error.call(conn.call { |p| MTLS.error_from_conn(p) }) unless @closing
          break
        end
        break if rc.zero?

        break unless answer(conn, req_out.read_pointer, app, on_error)
      end
    rescue Exception => e # rubocop:disable Lint/RescueException
      on_error.call(e) unless @closing
    ensure
      @lock.synchronize { @connections.delete(conn) }
      conn.close
    end

    # Answers one request; false when the connection must end.
    def answer(conn, req, app, on_error)
      request = Request.new(Native.mtls_http_req_method(req),
                            Native.mtls_http_req_target(req),
                            Native.mtls_http_req_version(req),
                            Native.read_headers(:mtls_http_req_header_at, req),
                            Native.read_body(:mtls_http_req_body, req))
      status, headers, body = run_app(app, request, conn.peer, on_error)
      array, keep = Native.header_array(headers)
      bytes = body_bytes(body)
      conn.call do |p|
        next true if Native.mtls_http_respond(req, status.to_i, array, bytes,
                                              bytes.bytesize).zero?

        on_error.call(MTLS.error_from_conn(p)) unless @closing
        false
      end
    ensure
      keep&.clear
      Native.mtls_http_req_free(req)
    end

    def run_app(app, request, peer, on_error)
      app.call(request, peer)
    rescue StandardError => e
      on_error.call(e)
      [500, { "Content-Type" => "text/plain" }, "Internal Server Error\n"]
    end

    def body_bytes(body)
      case body
      when nil then String.new(encoding: Encoding::BINARY)
      when String then body.b
      else
        out = String.new(encoding: Encoding::BINARY)
        body.each { |part| out << part.to_s.b }
        body.close if body.respond_to?(:close)
        out
      end
    end
  end
end
