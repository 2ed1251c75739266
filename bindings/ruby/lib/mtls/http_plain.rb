# frozen_string_literal: true

require "net/http"

module MTLS
  class HTTP
    # Net::HTTP's helpers' default headers for DELETE and PROPFIND.
    DEPTH_INFINITY = { "Depth" => "Infinity" }.freeze
    DEPTH_0 = { "Depth" => "0" }.freeze

    # What Net::HTTP sends for Net::HTTP::Get.new(path) and its kind on a
    # session, taken once from such an object: its method, its header
    # fields with this session's Host, frozen, and how it reads a response.
    Prototype = Struct.new(:method, :fields, :decode_content, :response_body, :request_body)

    # A request of the helpers (get, head, post, put, delete, options,
    # trace, propfind) called with no headers of the caller's on a started
    # session: what Net::HTTP would send for Net::HTTP::Get.new(path), made
    # without making that object, which is most of the cost of a small
    # keep-alive request.  It answers what MTLS::HTTP asks of a request.
    class PlainRequest
      attr_reader :method, :path, :body

      def initialize(proto, path, body)
        @proto = proto
        @method = proto.method
        @path = path
        @body = body || (proto.request_body ? "" : nil)
        # A request with a body gets Content-Length and Content-Type.
        @header = @body ? proto.fields.dup : proto.fields
      end

      def decode_content
        @proto.decode_content
      end

      def response_body_permitted?
        @proto.response_body
      end

      def uri; end

      def body_stream; end

      def connection_close?
        false
      end
    end

    private

    # Sends the request Net::HTTP's helper would make of klass, path and
    # initheader, without a Net::HTTPRequest object when it can.
    def plain(klass, path, initheader, body = nil)
      proto = started? && path.instance_of?(String) && !path.empty? &&
              prototype(klass, initheader)
      return request(klass.new(path, initheader), body) unless proto

      transport_request(PlainRequest.new(proto, path, body))
    end

    # The prototype of klass with initheader: nil or one of the helpers'
    # frozen defaults (a caller's headers make a Net::HTTPRequest).
    def prototype(klass, initheader)
      return nil unless initheader.nil? || initheader.equal?(DEPTH_INFINITY) || initheader.equal?(DEPTH_0)

      key = initheader ? [klass, initheader] : klass
      (@prototypes ||= {}).fetch(key) do
        req = klass.new("/", initheader)
        fields = Fields.of(req)
        @prototypes[key] = fields && Prototype.new(
          req.method, fields.merge("host" => [@host_header ||= host_header.freeze]) { |_, own, _| own }.freeze,
          req.decode_content, req.response_body_permitted?, req.request_body_permitted?
        )
      end
    end
  end
end
