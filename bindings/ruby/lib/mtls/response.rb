# frozen_string_literal: true

require "net/http"

module MTLS
  # What MTLS::HTTP adds to the responses it returns, which are
  # Net::HTTPResponse objects (Net::HTTPOK, Net::HTTPNotFound, ...):
  # #status as an Integer, #headers as a Hash of lower-case names to
  # values (repeated ones joined with ", "), #success?.  Included into
  # Net::HTTPResponse without replacing a method it has.
  module ResponseMethods
    def status
      code.to_i
    end

    def headers
      to_hash.transform_values { |values| values.join(", ") }
    end

    def success?
      is_a?(Net::HTTPSuccess)
    end
  end
  ResponseMethods.instance_methods.each do |m|
    ResponseMethods.send(:remove_method, m) if Net::HTTPResponse.method_defined?(m)
  end
  Net::HTTPResponse.include(ResponseMethods)

  # The class of MTLS::HTTP's responses until 0.1.0; they are
  # Net::HTTPResponse objects now.
  Response = Net::HTTPResponse
end
