# frozen_string_literal: true

require "stringio"
require "tempfile"

module MTLS
  class RackServer
    # What Rack's SPEC asks of every rack.input: binary.
    module BinaryInput
      def external_encoding
        Encoding::BINARY
      end

      def binmode?
        true
      end
    end

    # rack.input of a request with a body: read from the connection as the
    # app asks for it (libmtls's mtls_http_req_read_body, which answers
    # "Expect: 100-continue" on the first read), and kept as it is read so
    # that #rewind works, as Rack 2's SPEC requires: in memory up to
    # SPILL bytes, then in a Tempfile (unlinked).  A body the app did not
    # read is not read for it, except a short rest (DRAIN) before the
    # response, so that the connection stays alive.
    class Input
      include BinaryInput
      SPILL = 1 << 20
      DRAIN = 64 * 1024

      def initialize(req, client, scratch)
        @req = req
        @client = client
        @scratch = scratch
        @tee = StringIO.new(String.new(encoding: Encoding::BINARY))
        @size = 0    # bytes kept in @tee
        @pos = 0     # the app's position in them
        @eof = false # the body has been read to its end
      end

      # IO#read: everything left without length ("" at the end), else up
      # to length bytes (nil at the end).
      def read(length = nil, outbuf = nil)
        if length.nil?
          fill(nil)
          data = take(@size - @pos)
        else
          raise ArgumentError, "negative length #{length} given" if length.negative?

          fill(length) if @pos + length > @size
          data = take([length, @size - @pos].min)
          data = nil if data.empty? && length.positive?
        end
        return data if outbuf.nil?

        outbuf.replace(data || NullInput::EMPTY)
        data && outbuf
      end

      # The next line ("\n" kept), or nil at the end.
      def gets
        loop do
          @tee.seek(@pos)
          line = @tee.gets("\n", @size - @pos) if @pos < @size
          if line&.end_with?("\n") || (@eof && line)
            @pos += line.bytesize
            return line
          end
          return nil if @eof && line.nil?

          fill(@size - @pos + Scratch::BUF)
        end
      end

      def each
        while (line = gets)
          yield line
        end
        self
      end

      def rewind
        @pos = 0
      end

      # Never closed by the app (Rack's SPEC); the server's #finish frees.
      def close; end

      # (server) Before the response: reads a short rest of the body, so
      # that the connection can carry the next request.  Not with
      # 100-continue (the client sends only when asked).
      def drain(env)
        return if @eof || @req.nil? || env["HTTP_EXPECT"]

        length = env["CONTENT_LENGTH"]
        return if length.nil? || length.to_i - @size > DRAIN

        fill(nil)
      rescue MTLS::Error
        nil # the response will say keep-alive is over
      end

      # (server) The request is answered: no more reads from the
      # connection; a Tempfile is removed.
      def finish
        @req = nil
        @eof = true
        @tee.close! if @tee.is_a?(Tempfile)
        @tee = StringIO.new(String.new(encoding: Encoding::BINARY)) if @tee.closed?
      end

      private

      def take(n)
        return String.new(encoding: Encoding::BINARY) if n <= 0

        @tee.seek(@pos)
        data = @tee.read(n)
        @pos += data.bytesize
        data
      end

      # Reads from the connection until want more bytes are kept past
      # @pos (all, for nil) or the body ends.
      def fill(want)
        until @eof || (want && @size - @pos >= want)
          raise ::IOError, "rack.input read after the response was sent" if @req.nil?

          n = @client.read_body(@req, @scratch.buf, Scratch::BUF)
          if n.zero?
            @eof = true
            break
          end
          keep(@scratch.buf.read_bytes(n))
        end
      end

      def keep(data)
        spill if @size + data.bytesize > SPILL && !@tee.is_a?(Tempfile)
        @tee.seek(0, IO::SEEK_END)
        @tee.write(data)
        @size += data.bytesize
      end

      def spill
        file = Tempfile.new("mtls-rack-input", binmode: true)
        file.unlink
        file.write(@tee.string)
        @tee = file
      end
    end

    # rack.input of a request without a body: always at its end.
    class NullInput
      include BinaryInput
      EMPTY = "".b.freeze

      def read(length = nil, outbuf = nil)
        outbuf&.clear
        return nil if length&.positive?

        outbuf || String.new(encoding: Encoding::BINARY)
      end

      def gets
        nil
      end

      def each
        self
      end

      def rewind
        0
      end

      def close; end

      def size
        0
      end

      INSTANCE = new.freeze
    end
  end
end
