# frozen_string_literal: true

require "time"

module MTLS
  class RackServer
    # Sends what the app returned, through libmtls's respond functions,
    # which add Date, the framing and Connection: a body that is an Array
    # (#to_ary, Rack::BodyProxy's too) goes whole with its head; any other
    # is streamed, each part written as it is yielded, chunked unless the
    # app gave Content-Length.  HEAD and 1xx/204/304 answers send no body
    # (the body is not iterated).  "rack.hijack" among the headers hands
    # the connection to the app after the head.  Every body is closed,
    # whatever happens.
    module Response
      # What the app's headers mean to the server, by name.
      SPECIAL = {}
      { content_length: "Content-Length", transfer_encoding: "Transfer-Encoding",
        date: "Date", connection: "Connection", status: "Status" }.each do |kind, name|
        [name, name.downcase, name.upcase].each { |n| SPECIAL[n.freeze] = kind }
      end
      SPECIAL["rack.hijack"] = :hijack
      SPECIAL.freeze
      SPECIAL_SIZES = SPECIAL.keys.map(&:bytesize).uniq.freeze
      CLOSE_LINE = "Connection: close"
      ERROR_500 = [500, { "Content-Type" => "text/plain" }.freeze,
                   ["Internal Server Error\n".freeze].freeze].freeze
      HEAD = "HEAD"
      REQUEST_METHOD = Env::REQUEST_METHOD

      # The parts of a head: header lines, and what the server acts on.
      Head = Struct.new(:lines, :length, :chunked, :hijack, :close)

      private

      # Answers req; true when the connection can carry the next request.
      # last: the connection's last request (the server is stopping, or
      # others wait for the thread).
      def respond(client, req, env, status, headers, body, scratch, last)
        status = Integer(status) unless status.is_a?(Integer)
        head = head_for(headers, scratch)
        lines = head.lines
        lines += [CLOSE_LINE] if (@stopping || last) && !head.close
        return hijack_after_head(client, status, head, lines) if head.hijack

        bodiless = status < 200 || status == 204 || status == 304
        head_only = bodiless || env[REQUEST_METHOD] == HEAD
        parts = !head.chunked && (!head_only || head.length.nil?) && body_parts(body)
        if parts
          data = parts.size == 1 ? parts[0].to_s : parts.join
          slots = scratch.header_array(lines)
          return sent(client, client.respond(req, status, slots, data), status)
        end
        lines += ["Content-Length: #{head.length}"] if head.length
        stream(client, req, status, head, body, scratch.header_array(lines), head_only, bodiless)
      end

      # The Head of headers: the last one again when they are the same as
      # the last response's of this thread (an app answers with the same
      # few sets of headers), so that neither the lines nor the char *[]
      # libmtls reads are made again.
      def head_for(headers, scratch)
        last = scratch.last_head
        return last[1] if last && last[0] == headers

        head = head_of(headers)
        head.lines.freeze
        scratch.last_head = head.hijack ? nil : [snapshot(headers), head]
        head
      end

      # A copy of headers the app cannot change afterwards.
      def snapshot(headers)
        headers.each_with_object({}) do |(name, value), copy|
          copy[name.frozen? ? name : name.dup.freeze] = value.frozen? ? value : value.dup.freeze
        end
      end

      # Streams body (or only the head): start, each part, end.
      def stream(client, req, status, head, body, slots, head_only, bodiless)
        return sent(client, false, status) unless client.respond_start(req, status, slots)
        return true if bodiless # the head was all

        unless head_only
          dechunk = Dechunker.new if head.chunked
          ok = true
          body.each do |part|
            part = dechunk.feed(part) if dechunk
            next if part.empty?
            break unless (ok = client.respond_write(req, part))
          end
          return sent(client, false, status) unless ok
        end
        sent(client, client.respond_end(req), status)
      end

      # After a respond call: true when it went out; a refused response
      # (a bad header or status: nothing was sent) is told and raised, a
      # broken connection is told.
      def sent(client, ok, status)
        return true if ok

        if client.error_code == INVALID
          raise ResponseError, "the response (status #{status}) was refused: #{client.error.message}"
        end

        client.broken = true
        @on_error.call(client.error) unless @stopping
        false
      end

      # The app's headers as "Name: value" lines, and the ones the server
      # acts on: Content-Length, Transfer-Encoding, Connection, rack.hijack.
      def head_of(headers)
        head = Head.new([], nil, false, nil, false)
        headers.each do |name, value|
          kind = special(name)
          if kind.nil?
            next if name.start_with?("rack.")

            add_lines(head.lines, name, value)
            next
          end
          case kind
          when :content_length then head.length = value.to_s.strip
          when :transfer_encoding then head.chunked = chunked?(value)
          when :connection
            if value.to_s.match?(/close/i)
              head.close = true
              head.lines << CLOSE_LINE
            end
          when :hijack then head.hijack = value
          end
          # Date is libmtls's; Status is not a header.
        end
        head
      end

      def special(name)
        return nil unless SPECIAL_SIZES.include?(name.bytesize)

        SPECIAL[name] || SPECIAL[name.downcase]
      end

      def add_lines(lines, name, value)
        value = value.to_s
        if value.include?("\n")
          value.split("\n").each { |v| lines << "#{name}: #{v}" }
        else
          lines << "#{name}: #{value}"
        end
      end

      # Only chunked is undone (Rack::Chunked); libmtls frames the body
      # itself.
      def chunked?(value)
        return true if value.to_s.strip.casecmp?("chunked")

        raise ResponseError, "Transfer-Encoding: #{value} from the app: only " \
                             "chunked can be sent (libmtls frames the body)"
      end

      # An Array body (or one that is, as Rack::BodyProxy of an Array), or
      # nil to stream it.
      def body_parts(body)
        return [body] if body.is_a?(String)
        return nil unless body.respond_to?(:to_ary)

        parts = body.to_ary
        parts.is_a?(Array) ? parts : nil
      end

      # "rack.hijack" response header: the head as the app gave it (no
      # framing, no Connection added), then the connection is the app's.
      def hijack_after_head(client, status, head, lines)
        text = +"HTTP/1.1 #{status} #{reason(status)}\r\nDate: #{Time.now.httpdate}\r\n"
        lines.each { |l| text << l << "\r\n" }
        text << "Content-Length: #{head.length}\r\n" if head.length
        io = client.call
        io.write(text << "\r\n")
        head.hijack.call(io)
        false
      end

      def reason(status)
        (defined?(::Rack::Utils::HTTP_STATUS_CODES) && ::Rack::Utils::HTTP_STATUS_CODES[status]) || ""
      end
    end

    # The app's response cannot be sent as given.
    class ResponseError < StandardError; end

    # Undoes the chunked coding of a body the app chunked itself
    # (Rack::Chunked): libmtls chunks what it is given.
    class Dechunker
      def initialize
        @buf = String.new(encoding: Encoding::BINARY)
        @left = nil # bytes left of the current chunk, nil between chunks
        @done = false
      end

      # The data in part, without the chunk framing.
      def feed(part)
        @buf << part.b
        out = String.new(encoding: Encoding::BINARY)
        until @done
          if @left.nil?
            eol = @buf.index("\r\n") or break
            @left = @buf[0, eol].split(";", 2).first.to_i(16)
            @buf = @buf[eol + 2..]
            @done = true if @left.zero?
          else
            take = [@left, @buf.bytesize].min
            out << @buf[0, take]
            @buf = @buf[take..]
            @left -= take
            break unless @left.zero? && @buf.bytesize >= 2

            @buf = @buf[2..] # the chunk's CRLF
            @left = nil
          end
        end
        out
      end
    end
  end
end
