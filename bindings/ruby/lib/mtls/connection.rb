# frozen_string_literal: true

module MTLS
  # One TLS connection, client or accepted, with the IO methods people use
  # on sockets: read, readpartial, write, <<, close.
  #
  #   conn = MTLS::Connection.connect("localhost", 8443, context: ctx)
  #   conn.write("hello\n")
  #   conn.readpartial(4096)
  #   conn.peer.common_name
  #   conn.close
  #
  # Freed by #close, or by GC when forgotten.  In a process forked after the
  # connection was made, #close and GC free it without close_notify, so a
  # child never ends its parent's TLS session.
  class Connection
    CHUNK = 16 * 1024

    attr_reader :context

    # Connects to host:port and performs the handshake.  verify_name: the
    # name the server certificate must match, when host is an address.
    def self.connect(host, port, context:, verify_name: nil)
      ptr = Native.mtls_client_new(context.to_ptr)
      raise MTLS.error_from_config(context.to_ptr) if ptr.null?

      conn = new(ptr, context)
      conn.send(:connect, host, port, verify_name)
      conn
    end

    # (internal) wraps a struct mtls pointer the binding owns.
    def initialize(ptr, context)
      @context = context # keeps the config and its callback alive
      @pid = Process.pid
      # The releaser must not capture self, or the finalizer keeps the
      # connection alive for ever.
      @ptr = FFI::AutoPointer.new(ptr, Connection.method(:release))
      @io_lock = Mutex.new    # one native call at a time
      @state_lock = Mutex.new # guards @ptr against a concurrent free
      @buf = nil
      @peer = nil
      @broken = nil
    end

    # The GC's release: never mtls_close (which would send close_notify and
    # may block); mtls_free sends nothing and only closes our copy of the
    # socket, which is harmless in a forked child too.
    def self.release(ptr)
      Native.mtls_free(ptr)
    end

    # Performs the handshake now (an accepted connection does it on its
    # first read or write otherwise).  Returns self.
    def handshake
      call { |p| check(MTLS.retry_interrupted(p) { Native.mtls_handshake(p) }, :open) }
      self
    end

    # Reads up to maxlen bytes, returning what one TLS record gave; raises
    # EOFError at a clean end (close_notify), MTLS::TruncatedError (an
    # EOFError too) when the peer cut the stream without one.
    def readpartial(maxlen = CHUNK, outbuf = nil)
      data = read_some(maxlen)
      raise EOFError, "end of file reached" if data.nil?

      outbuf ? outbuf.replace(data) : data
    end

    # IO#read: all until the end with no length, else up to length bytes
    # (nil at the end).
    def read(length = nil, outbuf = nil)
      Connection.read_loop(length, outbuf) { |n| read_some(n) }
    end

    # (internal) IO#read over a block that reads up to n bytes (nil at
    # the end); MTLS::RackServer::HijackIO's too.
    def self.read_loop(length, outbuf)
      data = String.new(encoding: Encoding::BINARY)
      while length.nil? || data.bytesize < length
        chunk = yield(length ? [length - data.bytesize, CHUNK].min : CHUNK)
        break if chunk.nil?

        data << chunk
      end
      return nil if data.empty? && length&.positive?

      outbuf ? outbuf.replace(data) : data
    end

    # Writes all of each string; returns the number of bytes written.
    def write(*strings)
      strings.sum do |s|
        bytes = s.to_s.b
        next 0 if bytes.empty?

        # An interrupted write resumes when made again with the same bytes.
        call do |p|
          check(MTLS.retry_interrupted(p) { Native.mtls_write(p, bytes, bytes.bytesize) }, :write)
        end
      end
    end

    def <<(str)
      write(str)
      self
    end

    def flush
      self
    end

    # Sends close_notify (unless in a forked child) and frees the
    # connection.  Safe to call twice, and from another thread, where it
    # wakes a blocked read first.
    def close
      wake if @io_lock.locked? && !@io_lock.owned?
      @io_lock.synchronize do
        ptr = @ptr
        return nil if ptr.nil?

        if Process.pid == @pid && !@broken
          begin
            MTLS.blocking(ptr) { Native.mtls_close(ptr) }
          rescue Exception # rubocop:disable Lint/RescueException
            nil # free it all the same
          end
        end
        @state_lock.synchronize do
          @ptr = nil
          ptr.free
        end
      end
      nil
    end

    def closed?
      @ptr.nil?
    end

    # Neither closed nor left unusable by a call an exception ended.
    def usable?
      !@ptr.nil? && @broken.nil?
    end

    # Makes a blocked call on this connection (in another thread) fail
    # with MTLS_ERR_WOKEN now.
    def wake
      @state_lock.synchronize { Native.mtls_wake(@ptr) if @ptr }
      nil
    end

    # The peer's identity (MTLS::Peer), after the handshake.
    def peer
      @peer || with_ptr do |p|
        peer = Peer.new(p)
        @peer = peer if Native.mtls_conn_version(p) # handshake done
        peer
      end
    end

    # "TLSv1.3", the cipher suite name, the ALPN protocol (or nil).
    def tls_version
      with_ptr { |p| Native.mtls_conn_version(p) }
    end

    def cipher
      with_ptr { |p| Native.mtls_conn_cipher(p) }
    end

    # The key exchange group ("x25519", "secp384r1"), nil without one.
    def group
      with_ptr { |p| Native.mtls_conn_group(p) }
    end

    def alpn_protocol
      with_ptr { |p| Native.mtls_conn_alpn(p) }
    end

    def session_reused?
      with_ptr { |p| Native.mtls_conn_session_resumed(p) == 1 }
    end

    # The handshake as curl -v and openssl s_client would tell it.
    def describe
      with_ptr { |p| Native.mtls_conn_describe(p) }
    end

    # The peer's address ("203.0.113.7") and port: on a server context
    # with proxy_protocol:, the client the load balancer named; else the
    # socket's peer.  nil (and nil) when there is none.
    def peer_address
      with_ptr { |p| Native.mtls_peer_address(p) }
    end

    def peer_port
      with_ptr do |p|
        port = Native.mtls_peer_port(p)
        port.negative? ? nil : port
      end
    end

    def fileno
      with_ptr { |p| Native.mtls_fd(p) }
    end

    def local_port
      with_ptr { |p| Native.mtls_local_port(p) }
    end

    def inspect
      "#<MTLS::Connection #{closed? ? 'closed' : tls_version || 'open'}>"
    end

    # (internal) runs a native call with the pointer, one at a time,
    # interruptible; an exception escaping it (Ctrl-C, Timeout,
    # Thread#kill, a woken or failed call) leaves the connection unusable
    # but closable.
    def call
      @io_lock.synchronize do
        raise ConnectionError.new("closed MTLS::Connection", code: CODES[:INVALID]) if @ptr.nil?
        if @broken
          raise ConnectionError.new("MTLS::Connection unusable after #{@broken}; close it",
                                    code: CODES[:INVALID])
        end

        done = false
        begin
          result = MTLS.blocking(@ptr) { yield @ptr }
          done = true
          result
        ensure
          # An exception, or a throw: Timeout.timeout ends a call by a
          # throw, which no rescue sees.
          @broken = $! ? "#{$!.class}: #{$!.message}" : "Timeout::Error or throw" unless done
        end
      end
    end

    private

    def connect(host, port, verify_name)
      call do |p|
        if verify_name && Native.mtls_set_verify_name(p, verify_name.to_s) != 0
          raise MTLS.error_from_conn(p)
        end

        check(connect_or_resume(p, host.to_s, port.to_s), :open)
      end
    ensure
      free_now unless @broken.nil?
      @broken = nil
    end

    # mtls_connect, made again when a signal interrupted its TCP connect
    # (no socket left), and finished by mtls_handshake when it interrupted
    # the handshake (the TCP connection stands).
    def connect_or_resume(ptr, host, port)
      MTLS.retry_interrupted(ptr) do
        if Native.mtls_fd(ptr).negative?
          Native.mtls_connect(ptr, host, port)
        else
          Native.mtls_handshake(ptr)
        end
      end
    end

    def free_now
      @state_lock.synchronize do
        @ptr&.free
        @ptr = nil
      end
    end

    def read_some(maxlen)
      call do |p|
        @buf ||= FFI::MemoryPointer.new(:uint8, CHUNK)
        len = [maxlen, CHUNK].min
        n = check(MTLS.retry_interrupted(p) { Native.mtls_read(p, @buf, len) }, :read)
        n.zero? ? nil : @buf.read_bytes(n)
      end
    end

    def with_ptr
      @state_lock.synchronize do
        raise ConnectionError.new("closed MTLS::Connection", code: CODES[:INVALID]) if @ptr.nil?

        yield @ptr
      end
    end

    # phase: :open (connect, handshake), :read or :write, which names a
    # timeout.
    def check(rc, phase = nil)
      raise MTLS.error_from_conn(@ptr, phase: phase) if rc.negative?

      rc
    end
  end
end
