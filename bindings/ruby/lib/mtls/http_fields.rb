# frozen_string_literal: true

require "net/http"

module MTLS
  class HTTP
    # The header fields of Net::HTTP's requests and responses, read and
    # written the cheap way.
    #
    # Net::HTTPHeader keeps them in @header, a Hash of lower-case names to
    # Arrays of values (net/http/header.rb, the same since Ruby 1.8).  Its
    # public methods ([], []=, add_field, each_capitalized) copy, downcase,
    # capitalize and check each value on every call, which costs more than
    # the rest of a keep-alive request; MTLS::HTTP reads and fills @header
    # itself, and uses the public methods on an object that keeps its
    # fields some other way.
    module Fields
      # Net::HTTPHeader#capitalize's answers ("content-type" =>
      # "Content-Type"), and the lower-case form of the names servers send,
      # for the few names a program meets.
      CAPITALIZED = {}
      LOWER = {}
      CACHE_MAX = 256
      FORM = "application/x-www-form-urlencoded"

      module_function

      # The @header Hash of a Net::HTTPHeader object, or nil.
      def of(obj)
        h = obj.instance_variable_get(:@header)
        h if h.instance_of?(Hash)
      end

      def capitalized(name)
        CAPITALIZED[name] || remember(CAPITALIZED, name, name.to_s.split("-").map(&:capitalize).join("-"))
      end

      def lower(name)
        LOWER[name] || remember(LOWER, name, name.downcase)
      end

      def remember(cache, key, value)
        value.freeze
        cache[key] = value if cache.size < CACHE_MAX
        value
      end

      # The request's fields as mtls_http_request's char *[] of "Name:
      # value" strings, as Net::HTTP would write them.
      def request_array(req)
        fields = of(req)
        return pack(fields) if fields

        lines = []
        req.each_capitalized { |name, value| lines << "#{name}: #{value}" }
        Native.string_array(lines)
      end

      def pack(fields)
        return nil if fields.empty?

        text = String.new(capacity: 512, encoding: Encoding::BINARY)
        offsets = []
        fields.each do |name, values|
          offsets << text.bytesize
          text << capitalized(name) << ": "
          values.each_with_index do |v, i|
            raise ArgumentError, "MTLS::HTTP: a NUL byte in the #{name} header" if v.include?("\0")

            text << ", " if i.positive?
            text << (v.ascii_only? ? v : v.b)
          end
          text << "\0"
        end
        Native.pack_strings(text, offsets)
      end

      # The header block of the last request of a session, kept: requests
      # on a keep-alive connection tend to carry the same fields, and
      # comparing them costs less than writing them out again (the library
      # copies the block; it is not changed while it is kept).
      class Block
        def array(req)
          fields = Fields.of(req)
          return Fields.request_array(req) unless fields
          # A frozen Hash seen last time has not changed.
          return @array if (fields.frozen? && fields.equal?(@source)) || fields == @fields

          @source = fields
          @array = Fields.pack(fields)
          @fields = fields.to_h { |name, values| [name, values.map(&:dup)] }
          @array
        end
      end

      # Host, as Net::HTTP sets it when the request has none.
      def default_host(req, host)
        fields = of(req)
        return req["host"] ||= host unless fields

        fields["host"] ||= [host]
      end

      # What Net::HTTP sets on a request with a body it sends whole: its
      # Content-Length, no Transfer-Encoding, a default Content-Type.
      def body_fields(req, length)
        fields = of(req)
        unless fields
          req.content_length = length
          req.delete("Transfer-Encoding")
          req.set_content_type(FORM) unless req.content_type
          return
        end
        fields["content-length"] = [length.to_s]
        fields.delete("transfer-encoding")
        fields["content-type"] ||= [FORM]
      end

      # Adds a field of the response as Net::HTTPResponse#add_field does.
      def add(res, fields, name, value)
        return res.add_field(name, value) unless fields

        (fields[lower(name)] ||= []) << value
      end

      # The first value of a field of a response, by lower-case name.
      def first(res, fields, name)
        fields ? fields[name]&.first : res[name]
      end
    end
  end
end
