# frozen_string_literal: true

require "net/http"
require "stringio"
require "zlib"

module MTLS
  class HTTP
    # What Net::HTTPGenericRequest#exec writes, kept: the body after the
    # head.
    class Capture < StringIO
      def initialize
        super(String.new(encoding: Encoding::BINARY))
      end

      # Net::HTTP's socket's: no waiting for 100 Continue here.
      def continue_timeout; end

      def body
        string.split("\r\n\r\n", 2)[1] || String.new(encoding: Encoding::BINARY)
      end

      # The data of a chunked body, as Net::HTTPGenericRequest::Chunker
      # framed it.
      def self.dechunk(data)
        out = String.new(encoding: Encoding::BINARY)
        at = 0
        loop do
          eol = data.index("\r\n", at) or break
          size = data[at...eol].to_i(16)
          break if size.zero?

          out << data.byteslice(eol + 2, size)
          at = eol + 2 + size + 2
        end
        out
      end
    end

    # The body of one response on the connection: read when the request
    # had no block, streamed by read_body inside it; decoded as Net::HTTP
    # decodes gzip and deflate when it asked for them (Accept-Encoding).
    class BodyReader
      def initialize(http, conn, ptr)
        @http = http
        @conn = conn
        @ptr = ptr
        @left = nil
        @done = false
        @inflate = nil
      end

      # Status codes as Net::HTTP keeps them ("200"), and versions.
      STATUS = Hash.new { |h, status| h[status] = status.to_s.freeze }
      VERSIONS = Hash.new { |h, v| h[v] = v.delete_prefix("HTTP/").freeze }

      # The Net::HTTPResponse of the head, its body read unless streamed.
      def response(req)
        p = @ptr
        code = STATUS[Native.mtls_http_response_status(p)]
        klass = Net::HTTPResponse::CODE_TO_OBJ[code] ||
                Net::HTTPResponse::CODE_CLASS_TO_OBJ[code[0]] || Net::HTTPUnknownResponse
        res = klass.new(VERSIONS[Native.mtls_http_response_version(p)], code,
                        Native.mtls_http_response_reason(p))
        fields = Fields.of(res)
        add_fields(res, fields)
        res.decode_content = req.decode_content
        res.uri = req.uri if req.uri
        @body_exist = req.response_body_permitted? && klass.body_permitted?
        @done = !@body_exist
        # A body the library frames but Net::HTTP does not read (205 and
        # 305 have none for Net::HTTP) is read and dropped at the end.
        @drain = !@body_exist && req.response_body_permitted? && %w[205 305].include?(code)
        if @body_exist
          # The library has checked Content-Length.
          length = Fields.first(res, fields, "content-length")
          @left = length.to_i if length && !res.chunked?
          decoding(res, fields) if req.decode_content
        end
        res
      end

      # Net::HTTPResponse#read_body reads from here while the request's
      # block runs (Net::HTTP reads from its socket there).
      def stream(res)
        res.extend(StreamedBody)
        res.instance_variable_set(:@socket, self)
        res.instance_variable_set(:@body_exist, @body_exist)
      end

      # The body read now, as Net::HTTP reads it when no block streams it:
      # a String, UTF-8 when it is all ASCII, else binary (Net::HTTP
      # appends what it reads to '').
      def read_now(res)
        res.instance_variable_set(:@read, true)
        res.body = @body_exist ? read_all : nil
      end

      def closed?
        @ptr.nil?
      end

      # Appends each piece of the body to dest (anything with <<).
      def read_into(dest)
        @ptr or raise ConnectionError.new("attempt to read body out of block", code: CODES[:INVALID])
        until @done
          chunk = read_chunk
          if chunk.nil?
            @done = true
            finish_decoding(dest)
          elsif @inflate
            inflate(chunk, dest)
          else
            dest << chunk
          end
        end
        dest
      end

      # Frees the response; true when the connection may carry the next
      # request (its body was read to the end).
      def finish
        drain if @drain && @ptr
        complete = @done
        Native.mtls_http_response_free(@ptr) if @ptr
        @ptr = nil
        complete
      end

      private

      def drain
        nil while read_chunk
        @done = true
      rescue StandardError
        @done = false
      end

      def read_all
        first = @inflate ? nil : read_chunk
        return read_into(+"") if @inflate || first.nil?
        second = read_chunk
        return read_into(+"" << first << second) if second

        # One piece: the body itself.
        @done = true
        first.ascii_only? ? first.force_encoding(Encoding::UTF_8) : first
      end

      # The response's headers, all in one block from the library (one call,
      # not one a header), into the response as Net::HTTP's add_field
      # would put them.
      def add_fields(res, fields)
        size = @http.size_pointer
        address = Native.mtls_http_response_headers(@ptr, size)
        raise NoMemoryError, "mtls_http_response_headers failed" if address.zero?

        length = Native.get_word(size)
        return if length.zero?

        parts = Native.bytes_at(address, length).split("\0", -1)
        i = 0
        last = parts.size - 1
        while i < last
          if fields
            name = parts[i]
            (fields[Fields::LOWER[name] || Fields.lower(name)] ||= []) << parts[i + 1]
          else
            res.add_field(parts[i], parts[i + 1])
          end
          i += 2
        end
      end

      # The next piece of the body, or nil at its end.  A body of known
      # length ends when it is all read, with no call to find the end.
      def read_chunk
        return nil if @left&.zero?

        buf = @http.body_buffer
        n = @conn.call do |p|
          rc = MTLS.retry_interrupted(p) { Native.mtls_http_response_read(@ptr, buf, BUFFER) }
          raise MTLS.error_from_conn(p, phase: :read) if rc.negative?

          rc
        end
        return nil if n.zero?

        @left -= n if @left
        buf.read_bytes(n)
      end

      def decoding(res, fields)
        return if Fields.first(res, fields, "content-range")

        case Fields.first(res, fields, "content-encoding")&.downcase
        when "deflate", "gzip", "x-gzip"
          res.delete("content-encoding")
          @inflate = Zlib::Inflate.new(32 + Zlib::MAX_WBITS)
        when "none", "identity"
          res.delete("content-encoding")
        end
      end

      def inflate(chunk, dest)
        @inflate.inflate(chunk) { |out| dest << out }
      end

      def finish_decoding(_dest)
        return unless @inflate

        @inflate.finish unless @inflate.total_in.zero?
        @inflate.close
      end
    end

    # Net::HTTPResponse#read_body's reading, from a BodyReader.
    module StreamedBody
      private

      def read_body_0(dest)
        @socket.read_into(dest)
      end
    end
  end
end
