# frozen_string_literal: true

module MTLS
  class RackServer
    # rack.hijack_io: the TLS connection, handed over to the app with the
    # IO methods of Rack's SPEC.  It owns the connection from then on (the
    # server forgets it): #close sends close_notify, frees it and closes
    # the socket; GC frees one the app forgot.  The connection is
    # non-blocking underneath: read_nonblock raises IO::WaitReadable only
    # when TLS holds no data either, so IO.select on #to_io after it is
    # right; read, readpartial and write wait.  TLS has no half-close:
    # close_write closes, close_read only stops reads.  Bytes the client
    # sent after its request, before the hijack, were read as the start of
    # a next request and are not seen here.
    class HijackIO
      CHUNK = Connection::CHUNK

      def initialize(ptr, sock)
        @ptr = ptr
        @sock = sock
        @buf = FFI::MemoryPointer.new(:uint8, CHUNK)
        @read_closed = false
      end

      # IO#read: all until the end without length, else up to length bytes
      # (nil at the end).
      def read(length = nil, outbuf = nil)
        Connection.read_loop(length, outbuf) { |n| read_some(n, true) }
      end

      def readpartial(maxlen = CHUNK, outbuf = nil)
        data = read_some(maxlen, true) or raise EOFError, "end of file reached"
        outbuf ? outbuf.replace(data) : data
      end

      def read_nonblock(maxlen, outbuf = nil, exception: true)
        data = read_some(maxlen, false)
        if data == :wait_readable
          raise IO::EAGAINWaitReadable, "read would block" if exception

          return data
        end
        if data.nil?
          raise EOFError, "end of file reached" if exception

          return nil
        end
        outbuf ? outbuf.replace(data) : data
      end

      # Writes all of each string (waiting while the socket is full).
      def write(*strings)
        strings.sum do |s|
          bytes = s.to_s.b
          bytes.empty? ? 0 : call_waiting { Native.mtls_write_now(ptr, bytes, bytes.bytesize) }
        end
      end

      # As write: libmtls must be called again with the same bytes until
      # they are all sent, so this one waits for that too.
      def write_nonblock(string, exception: true) # rubocop:disable Lint/UnusedMethodArgument
        write(string)
      end

      def <<(string)
        write(string)
        self
      end

      def flush
        self
      end

      def sync
        true
      end

      def sync=(_value); end

      def close
        return nil if @ptr.nil?

        Native.mtls_close_now(@ptr) # best effort: never waits
        @ptr.free
        @ptr = nil
        @sock.close
        nil
      end

      alias close_write close

      def close_read
        @read_closed = true
        nil
      end

      def closed?
        @ptr.nil?
      end

      # The socket, for IO.select (after read_nonblock said WaitReadable).
      def to_io
        @sock
      end

      def fileno
        @sock.fileno
      end

      def inspect
        "#<MTLS::RackServer::HijackIO #{closed? ? 'closed' : "fd #{@sock.fileno}"}>"
      end

      private

      def ptr
        @ptr or raise ::IOError, "closed stream"
      end

      # Up to maxlen bytes; nil at a clean end (close_notify);
      # :wait_readable when nothing is there and wait is false.
      def read_some(maxlen, wait)
        raise ::IOError, "not opened for reading" if @read_closed

        len = [maxlen, CHUNK].min
        n = Native.mtls_read_now(ptr, @buf, len)
        return :wait_readable if n == Native::WANT_POLLIN && !wait
        if n == Native::WANT_POLLIN || n == Native::WANT_POLLOUT
          n = call_waiting { Native.mtls_read_now(ptr, @buf, len) }
        end
        raise MTLS.error_from_conn(ptr) if n.negative?

        n.zero? ? nil : @buf.read_bytes(n)
      end

      def call_waiting
        loop do
          rc = yield
          case rc
          when Native::WANT_POLLIN then @sock.wait_readable
          when Native::WANT_POLLOUT then @sock.wait_writable
          else
            raise MTLS.error_from_conn(ptr) if rc.negative?

            return rc
          end
        end
      end
    end
  end
end
