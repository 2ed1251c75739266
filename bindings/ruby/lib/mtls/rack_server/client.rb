# frozen_string_literal: true

require "socket"
require "io/wait"
require "io/nonblock"

module MTLS
  class RackServer
    # One accepted connection: a non-blocking socket accepted in Ruby and
    # its libmtls connection (mtls_accept_socket), whose calls never wait
    # but say MTLS_WANT_POLLIN / MTLS_WANT_POLLOUT; the waits are Ruby's
    # (IO#wait_readable), up to libmtls's own deadlines
    # (mtls_http_ms_left), so a thread holds the GVL only while it works.
    # Owned by one thread at a time: the pool thread serving it, the
    # reactor while it is parked, or, once hijacked, the app.  It is the
    # env's "rack.hijack" (one per connection).
    class Client
      RELEASE = Native.method(:mtls_free)
      WANT_POLLIN = Native::WANT_POLLIN
      WANT_POLLOUT = Native::WANT_POLLOUT
      # A wait libmtls set no deadline for (an I/O timeout of 0).
      LONGEST_WAIT = 300

      attr_reader :ptr, :io, :requests, :hijack_io
      attr_accessor :deadline, :env, :current_env, :broken

      # sock: accepted, now the client's; server_ptr: the struct mtls of
      # mtls_server_new that makes the connection.
      def initialize(sock, server_ptr, server)
        @io = sock
        sock.nonblock = true
        out = FFI::MemoryPointer.new(:pointer)
        raise MTLS.error_from_conn(server_ptr) if Native.mtls_accept_socket(server_ptr, out, sock.fileno) != 0

        @ptr = FFI::AutoPointer.new(out.read_pointer, RELEASE)
        @server = server
        @env = nil         # the connection's part of every env
        @current_env = nil # the request's, for rack.hijack_io
        @requests = 0
        @deadline = 0
        @broken = false
        @hijack_io = nil
        @host = nil # the last Host header, and what it gave
        @host_parts = nil
      end

      def remote_addr
        @io.remote_address.ip_address
      rescue SystemCallError, SocketError
        "127.0.0.1"
      end

      def closed?
        @ptr.nil?
      end

      def hijacked?
        !@hijack_io.nil?
      end

      def count_request
        @requests += 1
      end

      # SERVER_NAME and SERVER_PORT of a Host header (kept for the next
      # request, which nearly always sends the same).
      def host_parts(host)
        return @host_parts if host == @host

        @host = host
        @host_parts = Env.split_host(host)
      end

      # The next request, if it has begun (its body left to be streamed):
      # 1, 0 (no more requests), MTLS_WANT_POLLIN (none yet) or -1.  The
      # handshake's steps give up the GVL (signatures: each core can make
      # one); later calls only parse.
      def read_request(out)
        rc = if @requests.zero?
               Native.mtls_http_read_request(@ptr, READ_FLAGS, out)
             else
               Native.mtls_http_read_request_now(@ptr, READ_FLAGS, out)
             end
        if rc == -1 && (e = Thread.current[:mtls_callback_error])
          # A Ruby verify callback raised (and refused the client).
          Thread.current[:mtls_callback_error] = nil
          @broken = true
          raise e
        end
        return rc if rc != WANT_POLLOUT

        wait(rc) or return -1
        read_request(out)
      end

      # Milliseconds left of what libmtls waits for; -1 for no deadline.
      def ms_left
        Native.mtls_http_ms_left(@ptr)
      end

      # Up to len bytes of the body into buf; 0 at its end; raises the
      # MTLS::Error on failure.
      def read_body(req, buf, len)
        n = io_call { Native.mtls_http_req_read_body_now(req, buf, len) }
        return n unless n.negative?

        @broken = true
        raise error
      end

      # The respond calls: true when done, false when the connection
      # failed (#error says why).
      def respond(req, status, headers, body)
        io_call { Native.mtls_http_respond_now(req, status, headers, body, body.bytesize) }.zero?
      end

      def respond_start(req, status, headers)
        io_call { Native.mtls_http_respond_start_now(req, status, headers) }.zero?
      end

      def respond_write(req, data)
        io_call { Native.mtls_http_respond_write_now(req, data, data.bytesize) } >= 0
      end

      def respond_end(req)
        io_call { Native.mtls_http_respond_end_now(req) }.zero?
      end

      # The last failure, as an MTLS::Error.
      def error
        return ::IOError.new("timed out waiting for the client") if @timed_out

        MTLS.error_from_conn(@ptr)
      end

      # The failure's code.
      def error_code
        Native.mtls_error_code(@ptr)
      end

      # rack.hijack: hands the connection to the app as a HijackIO.
      def call
        @hijack_io ||= begin
          @server.forget(self)
          @ptr.autorelease = false
          io = HijackIO.new(FFI::AutoPointer.new(FFI::Pointer.new(@ptr.address), RELEASE), @io)
          @ptr = nil
          io
        end
        @current_env["rack.hijack_io"] = @hijack_io if @current_env
        @hijack_io
      end

      # Ends the connection: close_notify unless it failed, then free it
      # and close the socket.
      def close
        ptr = @ptr
        return if ptr.nil?

        Native.mtls_close_now(ptr) unless @broken # best effort: never waits
        @server.forget(self)
        @ptr = nil
        ptr.free
        @io.close
      rescue ::IOError
        nil
      end

      private

      # Makes a call until it is neither MTLS_WANT_POLLIN nor _POLLOUT,
      # waiting for the socket between.  A call made after libmtls's
      # deadline fails with its timeout, so waits end there.
      def io_call
        loop do
          rc = yield
          return rc unless rc == WANT_POLLIN || rc == WANT_POLLOUT
          return -1 unless wait(rc)
        end
      end

      # Waits for the socket as a call asked; false when there is no
      # deadline and none came in LONGEST_WAIT seconds.
      def wait(want)
        ms = Native.mtls_http_ms_left(@ptr)
        timeout = ms.negative? ? LONGEST_WAIT : ms / 1000.0
        ready = want == WANT_POLLIN ? @io.wait_readable(timeout) : @io.wait_writable(timeout)
        return true if ready || !ms.negative?

        @timed_out = true
        @broken = true
        false
      end
    end
  end
end
